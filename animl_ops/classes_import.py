"""Imports a model's labels from its own files into the registry, so that an engineer with the
model in hand makes the registry exact instead of typing a list.

Sources: TorchServe's index_to_name.json ({"0": "bird", ...}), a labels.txt with one label a line
(SpeciesNet's `uuid;class;order;family;genus;species;common name`), or a CSV with a header whose
`--column` holds the labels (the SDZWA model-weights/*_classes.csv, column Code).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from model_registry.loader import CLASSES_FOLDER, MODELS_FOLDER, load_fleet
from model_registry.registry_files import RegistryError


class ImportFailed(ValueError):  # noqa: N818 - reads as the condition it reports
    """The source cannot be read as labels, or the registry refuses them; nothing was changed."""


def _from_index_to_name(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ImportFailed(f"{path}: not a JSON file: {error}") from error
    if not isinstance(data, dict) or not all(str(k).isdigit() for k in data):
        raise ImportFailed(f'{path}: expected index_to_name.json, {{"0": "label", ...}}')
    indices = sorted(int(k) for k in data)
    if indices != list(range(len(indices))):
        raise ImportFailed(f"{path}: the indices are not 0..{len(indices) - 1} without gaps")
    return [str(data[str(i)]) for i in indices]


def _from_lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ImportFailed(f"{path}: not UTF-8 text (byte {error.start})") from error
    return [line.strip() for line in lines if line.strip()]


def _from_csv(path: Path, column: str | None) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = list(rows[0]) if rows else []
    if column is None or column not in columns:
        raise ImportFailed(f"{path}: name the label column with --column; it has {columns}")
    return [row[column].strip() for row in rows]


def read_labels(source: Path, column: str | None = None) -> list[str]:
    if not source.is_file():
        raise ImportFailed(f"{source}: no such file")
    if source.suffix == ".json":
        labels = _from_index_to_name(source)
    elif source.suffix == ".csv":
        labels = _from_csv(source, column)
    else:
        labels = _from_lines(source)
    if not labels:
        raise ImportFailed(f"{source}: holds no labels")
    return labels


def _point_yaml_at(text: str, field: str, path: str) -> str:
    """The model file with `<field>_file: path` set and `field` no longer marked unverified."""
    text = re.sub(rf"(?m)^  {field}: .*\n", "", text)
    if re.search(rf"(?m)^{field}_file:", text):
        return re.sub(rf"(?m)^{field}_file:.*$", f"{field}_file: {path}", text)
    if re.search(rf"(?m)^{field}:", text):
        raise ImportFailed(f"the model file lists its {field} inline; remove them first")
    return re.sub(r"(?m)^records:", f"{field}_file: {path}\nrecords:", text, count=1)


def import_classes(
    registry: Path, model: str, source: Path, column: str | None = None, taxonomy: bool = False
) -> int:
    """Writes classes/<model>.txt (or, for a SpeciesNet taxonomy_release.txt,
    classes/<model>-taxonomy.txt) and points the model file at it; on any refusal both files
    are left as they were. Returns the number of labels."""
    model_file = registry / MODELS_FOLDER / f"{model}.yaml"
    if not model_file.is_file():
        raise ImportFailed(f"{model_file}: no such model file")
    labels = read_labels(source, column)
    field, name = ("taxonomy", f"{model}-taxonomy.txt") if taxonomy else ("classes", f"{model}.txt")
    classes_file = registry / CLASSES_FOLDER / name
    backups = {p: p.read_bytes() if p.is_file() else None for p in (model_file, classes_file)}
    classes_file.parent.mkdir(exist_ok=True)
    what = "taxonomy" if taxonomy else "labels in output order"
    header = f"# {model}: the model's {what}, imported from {source.name}\n"
    classes_file.write_text(header + "\n".join(labels) + "\n", encoding="utf-8")
    text = model_file.read_text(encoding="utf-8")
    model_file.write_text(
        _point_yaml_at(text, field, f"../{CLASSES_FOLDER}/{name}"), encoding="utf-8"
    )
    try:
        load_fleet(registry)
    except RegistryError as error:
        for path, content in backups.items():
            if content is None:
                path.unlink()
            else:
                path.write_bytes(content)
        raise ImportFailed(f"the registry refuses the labels; nothing changed:\n{error}") from error
    return len(labels)
