"""moto server, patched to deploy what the real CDK CLI deploys (see `moto_patches`).

    python -m animl_emulator.server [--plain] -H localhost -p PORT

`--plain` runs moto unpatched, for the tests that show each patched defect is still there.
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

        moto_patches.apply_all()
    main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
