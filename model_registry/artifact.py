"""The artifact config a registry entry prescribes, and the check of an artifact against it.

The registry is the source of truth: the packaging command writes animl-model.json from it, and
`make synth` (local artifacts) and `mlmodel export --check` refuse an artifact that disagrees.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from animl_contract.artifact import (
    CONFIG_FILE,
    TAXONOMY_FILE,
    ArtifactConfig,
    ArtifactConfigError,
    parse_artifact_config,
)
from model_registry.schema import ModelSpec, UnverifiedField


class NotPackageableError(ValueError):
    """The registry entry lacks what an artifact needs (its classes or pre-processing)."""


def artifact_config(model: ModelSpec) -> ArtifactConfig:
    required: dict[UnverifiedField, object] = {
        "classes": model.classes,
        "preprocessing": model.preprocessing,
    }
    missing = [field for field, value in required.items() if not value]
    if missing:
        reasons = "; ".join(f"{f}: {model.unverified.get(f, 'missing')}" for f in missing)
        raise NotPackageableError(
            f"model {model.name} has no {' and no '.join(missing)} in the registry ({reasons})"
        )
    return ArtifactConfig(
        name=model.name,
        version=model.version,
        family=model.family,
        labels=tuple(model.class_ids),
        preprocessing=model.preprocessing,  # type: ignore[arg-type]
        precision=model.precision,
    )


def read_artifact_file(archive: Path, name: str) -> bytes | None:
    """One top-level file of a model.tar.gz, or None if it holds none of that name."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name.removeprefix("./") == name:
                    handle = tar.extractfile(member)
                    return handle.read() if handle else None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArtifactConfigError(f"{archive}: not a readable .tar.gz: {error}") from error
    return None


def read_artifact_config(archive: Path) -> ArtifactConfig:
    """animl-model.json of a model.tar.gz, validated by the contract."""
    data = read_artifact_file(archive, CONFIG_FILE)
    if data is None:
        raise ArtifactConfigError(f"{archive}: holds no {CONFIG_FILE}")
    try:
        parsed = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactConfigError(f"{archive}: {CONFIG_FILE} is not JSON: {error}") from error
    return parse_artifact_config(parsed, f"{archive}:{CONFIG_FILE}")


def taxonomy_disagreement(model: ModelSpec, archive: Path) -> str | None:
    """Where a SpeciesNet artifact's taxonomy.txt is not the registry's taxonomy_file."""
    data = read_artifact_file(archive, TAXONOMY_FILE)
    if data is None or model.taxonomy is None:
        return None
    shipped = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    shipped = [line for line in shipped if line]
    if shipped == list(model.taxonomy):
        return None
    return (
        f"{archive}:{TAXONOMY_FILE} has {len(shipped)} labels, the registry's taxonomy_file "
        f"{len(model.taxonomy)}; they differ"
    )


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return flat
    return {prefix: value}


def disagreements(expected: ArtifactConfig, actual: ArtifactConfig) -> list[tuple[str, str]]:
    """(field, what differs) between the registry's config and an artifact's, labels first."""
    found = []
    if expected.labels != actual.labels:
        missing = [label for label in expected.labels if label not in actual.labels]
        extra = [label for label in actual.labels if label not in expected.labels]
        detail = f"registry {len(expected.labels)}, artifact {len(actual.labels)}"
        if missing or extra:
            detail += f"; only in the registry {missing[:5]}, only in the artifact {extra[:5]}"
        else:
            detail += "; same labels in another order"
        found.append(("labels", detail))
    want = _flatten(expected.model_dump(mode="json", exclude={"labels"}))
    have = _flatten(actual.model_dump(mode="json", exclude={"labels"}))
    for field in sorted(want.keys() | have.keys()):
        if want.get(field) != have.get(field):
            found.append((field, f"registry {want.get(field)!r}, artifact {have.get(field)!r}"))
    return found
