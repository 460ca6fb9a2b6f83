"""The fields of a model file that name files: resolved against the model file's folder (or the
containers folder), which the loader passes in the validation context, checked to exist, and
the label files read into the labels they hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo


def classes_file_labels(path: Path) -> list[tuple[int, str]]:
    """(line number, label) of a classes file: one label a line, `#` starts a comment line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"classes_file {path.name}: not UTF-8 text (byte {error.start})") from None
    return [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def context_dir(info: ValidationInfo, key: str) -> Path:
    if not info.context or key not in info.context:
        raise ValueError(f"internal: validation context lacks {key!r}")
    return Path(info.context[key])


def container_folder(v: str | None, info: ValidationInfo) -> str | None:
    if v is None:
        return v
    folder = context_dir(info, "containers_dir") / v
    if "/" in v or "\\" in v or v.startswith("."):
        raise ValueError(f"{v!r} must be a folder name under containers/")
    if not (folder / "Dockerfile").is_file():
        raise ValueError(f"containers/{v}/Dockerfile does not exist")
    return v


def local_file(v: str, info: ValidationInfo, what: str = "") -> str:
    """The absolute path of a file named relative to the model file's folder."""
    path = context_dir(info, "file_dir") / v
    if not path.is_file():
        raise ValueError(f"{what}{v!r} does not exist (looked at {path})")
    return str(path.resolve())


def inline_label_files(data: Any, info: ValidationInfo) -> Any:
    """Reads classes_file into `classes` (one label a line) so both forms validate alike, and
    taxonomy_file into `taxonomy`."""
    if not isinstance(data, dict):
        return data
    if "taxonomy" in data:
        raise ValueError("give the taxonomy as taxonomy_file")
    taxonomy = context_dir(info, "file_dir") / str(data.get("taxonomy_file"))
    if "taxonomy_file" in data and taxonomy.is_file():
        data = {**data, "taxonomy": [label for _, label in classes_file_labels(taxonomy)]}
    if "classes_file" not in data:
        return data
    if data.get("classes") is not None:
        raise ValueError("give either classes or classes_file, not both")
    path = context_dir(info, "file_dir") / str(data["classes_file"])
    if path.is_file():
        data = {**data, "classes": [label for _, label in classes_file_labels(path)]}
    return data
