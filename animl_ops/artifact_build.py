"""Builds a model's model.tar.gz with the registry as the source of its animl-model.json: the
config is written from the registry entry, never by hand, and the packaging tool of the runtime
(containers/animl-serve, animl_serve.package) validates the archive by serving it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from animl_contract.artifact import TAXONOMY_FILE
from checkout import RUNTIME_DIR
from model_registry.artifact import (
    NotPackageableError,
    artifact_config,
    disagreements,
    read_artifact_config,
)
from model_registry.schema import ModelSpec


class BuildFailed(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """The packaging tool refused; its reason is the message, and no archive was written."""


def build_artifact(
    model: ModelSpec,
    onnx: Path,
    out: Path,
    detector: Path | None = None,
    optimize: bool = False,
    geofence: Path | None = None,
    report: Path | None = None,
) -> str:
    """SpeciesNet with a detector also ships the registry's taxonomy and the given geofence.
    Paths are taken as the caller means them: the packaging tool runs in the runtime's folder."""
    onnx, out = onnx.absolute(), out.absolute()
    detector, geofence, report = (p.absolute() if p else None for p in (detector, geofence, report))
    problems = []
    try:
        config = artifact_config(model)
    except NotPackageableError as error:
        problems.append(str(error))
    ensemble = model.family == "speciesnet" and detector is not None
    if ensemble and geofence is None:
        problems.append(
            "a SpeciesNet artifact with a detector needs --geofence (the release's geofence JSON)"
        )
    if ensemble and not model.taxonomy:
        problems.append(
            "a SpeciesNet artifact with a detector needs the registry's taxonomy_file "
            f"({model.unverified.get('taxonomy', 'missing')}; classes import --taxonomy)"
        )
    if problems:  # all at once, not the first alone
        raise BuildFailed("; ".join(problems))
    with tempfile.TemporaryDirectory(prefix="animl-config-") as folder:
        config_path = Path(folder) / "animl-model.json"
        config_path.write_text(config.to_json(), encoding="utf-8")
        command = [sys.executable, "-m", "animl_serve.package", "build"]
        command += ["--onnx", str(onnx), "--config", str(config_path), "--out", str(out)]
        if detector is not None:
            command += ["--detector", str(detector)]
        if ensemble:
            taxonomy = Path(folder) / TAXONOMY_FILE
            taxonomy.write_text("\n".join(model.taxonomy or ()) + "\n", encoding="utf-8")
            command += ["--taxonomy", str(taxonomy), "--geofence", str(geofence)]
        if report is not None:
            command += ["--report", str(report)]
        if optimize:
            command.append("--optimize")
        env = os.environ | {"PYTHONPATH": str(RUNTIME_DIR)}
        result = subprocess.run(
            command, cwd=RUNTIME_DIR, env=env, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise BuildFailed(result.stderr.strip().removeprefix("refused: "))
    assert not disagreements(config, read_artifact_config(out))
    return result.stdout.strip()
