"""moto server, patched to deploy what the real CDK CLI deploys (see `moto_patches`).

    python -m animl_emulator.server [--plain] -H localhost -p PORT

`--plain` runs moto unpatched, for the tests that show each patched defect is still there. With
ANIML_LOCAL_SAGEMAKER set, InvokeEndpoint runs each endpoint's container (`local_sagemaker`).
"""

from __future__ import annotations

import sys

from moto.server import main

PLAIN = "--plain"


def run(argv: list[str]) -> None:
    if PLAIN in argv:
        argv = [a for a in argv if a != PLAIN]
    else:
        from animl_emulator import moto_patches
        from animl_emulator.local_sagemaker import settings

        moto_patches.apply_all()
        local = settings.from_environment()
        if local is not None:
            from animl_emulator.local_sagemaker.handler import install

            install(local)
    main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
