"""The path arguments of the command-line tools, checked before anything runs or is written.

Relative paths are relative to where the user stands, and come back absolute, so that a tool
that runs another program elsewhere (the packaging tool in containers/animl-serve) reads and
writes what the user named. Each problem is one line naming the option and the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class BadPath(ValueError):  # noqa: N818 - reads as the condition it reports
    """A path argument that cannot be used; the message names the option and the path."""


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser()))


def existing_file(path: Path, option: str) -> Path:
    found = _absolute(path)
    if found.is_dir():
        raise BadPath(f"{option} {path}: is a folder; pass a file")
    if not found.is_file():
        raise BadPath(f"{option} {path}: no such file")
    return found


def existing_folder(path: Path, option: str, holding: str = "files") -> Path:
    found = _absolute(path)
    if found.is_file():
        raise BadPath(f"{option} {path}: is a file; pass a folder of {holding}")
    if not found.is_dir():
        raise BadPath(f"{option} {path}: no such folder")
    return found


def existing(path: Path, option: str) -> Path:
    """A file or a folder (a SavedModel is a folder)."""
    found = _absolute(path)
    if not found.exists():
        raise BadPath(f"{option} {path}: no such file or folder")
    return found


def _writable(folder: Path, option: str, path: Path) -> None:
    """Creates and removes a file there: the only test that also sees read-only file systems."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".animl-write-test-"):
            pass
    except OSError as error:
        raise BadPath(f"{option} {path}: cannot write in {folder} ({error.strerror})") from error


def output_file(path: Path, option: str) -> Path:
    """A file to write; its folder must exist."""
    target = _absolute(path)
    if target.is_dir():
        raise BadPath(f"{option} {path}: is a folder; pass a file name")
    if not target.parent.is_dir():
        raise BadPath(f"{option} {path}: no folder {target.parent}; create it first")
    _writable(target.parent, option, path)
    return target


def output_folder(path: Path, option: str) -> Path:
    """A folder to write into; it and its parents are created where they are missing."""
    target = _absolute(path)
    if target.exists() and not target.is_dir():
        raise BadPath(f"{option} {path}: is a file; pass a folder")
    ancestor = next(p for p in (target, *target.parents) if p.exists())
    if not ancestor.is_dir():
        raise BadPath(f"{option} {path}: {ancestor} is a file, not a folder")
    _writable(ancestor, option, path)
    return target
