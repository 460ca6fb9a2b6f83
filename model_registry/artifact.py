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
    ArtifactConfig,
    ArtifactConfigError,
    parse_artifact_config,
)
from model_registry.schema import ModelSpec


class NotPackageableError(ValueError):
    """The registry entry lacks what an artifact needs (its classes or pre-processing)."""


def artifact_config(model: ModelSpec) -> ArtifactConfig:
    missing = [
        field
        for field, value in (("classes", model.classes), ("preprocessing", model.preprocessing))
        if not value
    ]
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
    )


def read_artifact_config(archive: Path) -> ArtifactConfig:
    """animl-model.json of a model.tar.gz, validated by the contract."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar if m.name.removeprefix("./") == CONFIG_FILE]
            if not members:
                raise ArtifactConfigError(f"{archive}: holds no {CONFIG_FILE}")
            handle = tar.extractfile(members[0])
            data = json.load(handle) if handle else None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArtifactConfigError(f"{archive}: not a readable .tar.gz: {error}") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactConfigError(f"{archive}: {CONFIG_FILE} is not JSON: {error}") from error
    return parse_artifact_config(data, f"{archive}:{CONFIG_FILE}")


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
