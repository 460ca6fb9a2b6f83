"""`python -m animl_serve serve`: what `docker run IMAGE serve` runs."""

from __future__ import annotations

import logging
import sys

import uvicorn

from animl_serve.http import JsonErrorH11Protocol
from animl_serve.server import create_app
from animl_serve.settings import SettingsError, load_settings

USAGE = "usage: python -m animl_serve serve"


def main(argv: list[str]) -> int:
    if argv != ["serve"]:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"animl-serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        http=JsonErrorH11Protocol,
        timeout_keep_alive=75,  # longer than SageMaker's idle connection reuse
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
