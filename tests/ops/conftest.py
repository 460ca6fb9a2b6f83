"""animl-ops run as ops engineers run it: `python -m animl_ops …` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from animl_serve.package import build
from tests.conftest import REPO_ROOT
from tests.containers import onnx_models
from tests.containers.conftest import DETECTOR_PREDICTIONS, MD_LABELS
from tests.e2e.emulator import Account, Emulator


@dataclass(frozen=True)
class OpsRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def run_ops(*args: str, env: dict[str, str] | None = None) -> OpsRun:
    result = subprocess.run(
        [sys.executable, "-m", "animl_ops", *args],
        cwd=REPO_ROOT,
        env=env if env is not None else os.environ | {"AWS_EC2_METADATA_DISABLED": "true"},
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


def build_artifact(folder: Path, family: str, name: str, classes: list) -> Path:
    """A model.tar.gz built with the real packaging tool, for a tiny ONNX model of `family`."""
    folder.mkdir(parents=True, exist_ok=True)
    if family == "detector":
        onnx = onnx_models.yolov5_detector(folder / "model.onnx", DETECTOR_PREDICTIONS)
        input_size = 1280
    else:
        onnx = onnx_models.color_classifier(folder / "model.onnx", len(classes), 64)
        input_size = 64
    config = folder / "animl-model.json"
    config.write_text(
        json.dumps(
            {
                "name": name,
                "version": "1",
                "family": family,
                "input_size": input_size,
                "classes": classes,
            }
        )
    )
    build(onnx, config, folder / "model.tar.gz")
    return folder / "model.tar.gz"


@pytest.fixture(scope="session")
def mirav2_artifact(tmp_path_factory) -> Path:
    classes = ["bird", "fox", "lizard", "rodent", "skunk"]
    return build_artifact(tmp_path_factory.mktemp("mirav2"), "crop-classifier", "mirav2", classes)


@pytest.fixture(scope="session")
def detector_artifact(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("md")
    return build_artifact(folder, "detector", "megadetector-v5a", MD_LABELS)
