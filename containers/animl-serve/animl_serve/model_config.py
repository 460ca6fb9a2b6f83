"""Reads the artifact's animl-model.json, whose schema is the shared contract (animl_contract)."""

from __future__ import annotations

import json
from pathlib import Path

from animl_contract.artifact import (
    CONFIG_FILE,
    MODEL_FILE,
    ArtifactConfig,
    ArtifactConfigError,
    parse_artifact_config,
)
from animl_serve.errors import ArtifactError


def load_model_config(model_dir: Path) -> ArtifactConfig:
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(
            f"{path} is missing; the artifact must hold {CONFIG_FILE} and {MODEL_FILE}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    try:
        return parse_artifact_config(data, str(path))
    except ArtifactConfigError as exc:
        raise ArtifactError(str(exc)) from exc
