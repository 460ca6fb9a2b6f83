"""Rich consoles that stay readable in logs and CI, which are not terminals."""

from __future__ import annotations

import sys

from rich.console import Console

PIPED_WIDTH = 160


def stdout_console() -> Console:
    """The terminal's width on a terminal; piped, tables 160 wide and lines never wrapped."""
    piped = not sys.stdout.isatty()
    return Console(width=PIPED_WIDTH if piped else None, soft_wrap=piped)
