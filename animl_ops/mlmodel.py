"""The MLModel record that MongoDB holds for a model, and its check against the container."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from animl_ops.contract import response_labels, sample_request
from animl_ops.local_runtime import LocalRuntimeError, invoke, serving_archive
from model_registry.schema import ModelSpec

MODEL_CONFIG_FILE = "animl-model.json"


def mlmodel_record(model: ModelSpec) -> dict:
    """Category names are already free of `.` and `$`: the registry schema refuses them."""
    return {
        "_id": model.name,
        "version": model.version,
        "description": model.description,
        "defaultConfThreshold": model.default_confidence_threshold,
        "categories": [{"_id": c.id, "name": c.name} for c in model.classes],
    }


@dataclass(frozen=True)
class LabelCheck:
    record_ids: tuple[str, ...]
    artifact_labels: tuple[str, ...]
    served_labels: tuple[str, ...]

    @property
    def problems(self) -> list[str]:
        record, artifact = set(self.record_ids), set(self.artifact_labels)
        found = []
        if missing := sorted(artifact - record):
            found.append(f"the container returns labels the record lacks: {missing}")
        if extra := sorted(record - artifact):
            found.append(f"the record has categories the container never returns: {extra}")
        if unknown := sorted(set(self.served_labels) - artifact):
            found.append(f"the served response names labels outside the artifact: {unknown}")
        return found


def _artifact_labels(archive: Path) -> list[str]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            (member,) = [m for m in tar if m.name.removeprefix("./") == MODEL_CONFIG_FILE]
            config = json.load(tar.extractfile(member))
    except (ValueError, tarfile.TarError, OSError) as error:
        raise LocalRuntimeError(f"{archive}: no readable {MODEL_CONFIG_FILE}: {error}") from error
    return [c if isinstance(c, str) else c["id"] for c in config.get("classes", [])]


def check_labels(model: ModelSpec, archive: Path) -> LabelCheck:
    """Serves the artifact with the container runtime and compares labels with the record."""
    request = sample_request(model)
    with serving_archive(archive) as url:
        status, body = invoke(url, request.body, request.content_type)
    if status != 200:
        raise LocalRuntimeError(f"the container answered {status}: {body[:200]!r}")
    return LabelCheck(
        record_ids=tuple(c["_id"] for c in mlmodel_record(model)["categories"]),
        artifact_labels=tuple(_artifact_labels(archive)),
        served_labels=tuple(sorted(response_labels(model, body))),
    )
