"""animl-ops run as ops engineers run it: `python -m animl_ops …` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from animl_contract.artifact import ArtifactConfig
from animl_emulator import sample_models as onnx_models
from animl_emulator.emulator import Account, Emulator
from animl_serve.package import build
from checkout import REPO_ROOT
from model_registry.artifact import artifact_config
from tests.containers.conftest import DETECTOR_PREDICTIONS
from tests.registries import FIXTURE_REGISTRY, fixture_fleet


@dataclass(frozen=True)
class OpsRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_ops(*args: str, env: dict[str, str] | None = None) -> OpsRun:
    """The CLI on the fixture registry, unless `--registry` names another."""
    env = env if env is not None else os.environ | {"AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "animl_ops", *args],
        cwd=REPO_ROOT,
        env=env | {"ANIML_REGISTRY": str(FIXTURE_REGISTRY)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return OpsRun(result.returncode, result.stdout, result.stderr)


def deploy_by_hand(
    emulator: Emulator, account: Account, region: str, name: str, memory_mb: int, concurrency: int
) -> str:
    """What a console session creates: a model, a serverless config and an endpoint."""
    sagemaker = emulator.client("sagemaker", account, region)
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=f"arn:aws:iam::{account.account_id}:role/sagemaker",
        PrimaryContainer={"Image": f"{account.account_id}.dkr.ecr.{region}.amazonaws.com/x:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "ServerlessConfig": {"MemorySizeInMB": memory_mb, "MaxConcurrency": concurrency},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return name


def build_artifact(folder: Path, config: ArtifactConfig, onnx: Path | None = None) -> Path:
    """A model.tar.gz of `config`, built with the real packaging tool around `onnx`, or a tiny
    ONNX model with the config's outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    pre = config.preprocessing
    if onnx is not None:
        pass
    elif pre.classifier is None:
        onnx = onnx_models.yolov5_detector(folder / "model.onnx", DETECTOR_PREDICTIONS)
    else:
        height, _ = pre.classifier.input_size
        onnx = onnx_models.color_classifier(
            folder / "model.onnx", len(config.labels), height, pre.classifier.layout
        )
    path = folder / "animl-model.json"
    path.write_text(config.to_json())
    build(onnx, path, folder / "model.tar.gz")
    return folder / "model.tar.gz"


def registry_artifact(folder: Path, model: str, **changes) -> Path:
    """The artifact the registry prescribes for `model`, with `changes` to its config."""
    config = artifact_config(fixture_fleet().models[model])
    return build_artifact(folder, config.model_copy(update=changes))


@pytest.fixture(scope="session")
def mirav2_artifact(tmp_path_factory) -> Path:
    return registry_artifact(tmp_path_factory.mktemp("mirav2"), "mirav2")


@pytest.fixture(scope="session")
def detector_artifact(tmp_path_factory) -> Path:
    return registry_artifact(tmp_path_factory.mktemp("md"), "megadetector-v5a")
