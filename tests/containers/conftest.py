from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from animl_serve.package import build
from tests.conftest import REPO_ROOT
from tests.containers import onnx_models

CONTAINER_DIR = REPO_ROOT / "containers" / "animl-serve"
MD_CLASSES = [
    {"id": "1", "name": "animal"},
    {"id": "2", "name": "person"},
    {"id": "3", "name": "vehicle"},
]
CLASSIFIER_CLASSES = ["red thing", "green thing", "blue thing", "Bird sp.", "fox"]

# Canvas-pixel predictions (cx, cy, w, h, objectness, animal, person, vehicle) of the test detector.
DETECTOR_PREDICTIONS = np.array(
    [
        [
            [640, 480, 100, 80, 0.9, 0.95, 0.02, 0.03],  # animal, 0.855
            [645, 482, 100, 80, 0.8, 0.90, 0.05, 0.05],  # the same animal, suppressed by NMS
            [100, 100, 50, 50, 0.5, 0.10, 0.80, 0.10],  # person, 0.4
            [640, 480, 100, 80, 0.6, 0.10, 0.10, 0.70],  # vehicle on the animal: other class, kept
            [300, 300, 20, 20, 0.0001, 0.9, 0.05, 0.05],  # below the 0.0005 minimum
        ]
    ],
    dtype=np.float32,
)


def jpeg(width: int, height: int, color=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_artifact(
    folder: Path, onnx: Path, config: dict, detector: Path | None = None, optimize: bool = False
) -> Path:
    """Builds model.tar.gz with the real packaging tool and extracts it as SageMaker would."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "animl-model.json"
    config_path.write_text(json.dumps(config))
    archive = build(
        onnx, config_path, folder / "model.tar.gz", detector=detector, optimize=optimize
    )
    assert "inference OK" in archive
    model_dir = folder / "model"
    with tarfile.open(folder / "model.tar.gz") as tar:
        tar.extractall(model_dir, filter="data")
    return model_dir


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("artifacts")
    onnx = {
        "detector": onnx_models.yolov5_detector(root / "detector.onnx", DETECTOR_PREDICTIONS),
        "classifier": onnx_models.color_classifier(
            root / "classifier.onnx", len(CLASSIFIER_CLASSES), 64
        ),
        "speciesnet": onnx_models.color_classifier(
            root / "speciesnet.onnx", len(CLASSIFIER_CLASSES), 480, "NHWC"
        ),
        "slow": onnx_models.slow_classifier(root / "slow.onnx", 2, 32, matmuls=1000),
    }
    md = {
        "name": "megadetector-v5a",
        "version": "5a",
        "family": "detector",
        "input_size": 1280,
        "classes": MD_CLASSES,
    }
    classifier = {
        "name": "mirav2",
        "version": "2.0",
        "family": "crop-classifier",
        "input_size": 64,
        "classes": CLASSIFIER_CLASSES,
    }
    speciesnet = {
        "name": "speciesnetv401a",
        "version": "4.0.1a",
        "family": "speciesnet",
        "input_size": 480,
        "classes": CLASSIFIER_CLASSES,
    }
    slow = {
        "name": "slow",
        "version": "1",
        "family": "crop-classifier",
        "input_size": 32,
        "classes": ["a", "b"],
    }
    return {
        "detector": make_artifact(root / "md", onnx["detector"], md),
        "classifier": make_artifact(root / "cls", onnx["classifier"], classifier, optimize=True),
        "xywh-classifier": make_artifact(
            root / "xywh", onnx["classifier"], classifier | {"bbox_format": "xywh"}
        ),
        "speciesnet": make_artifact(
            root / "sn", onnx["speciesnet"], speciesnet, detector=onnx["detector"], optimize=True
        ),
        "slow": make_artifact(root / "slow", onnx["slow"], slow),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(model_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return os.environ | {
        "ANIML_MODEL_DIR": str(model_dir),
        "ANIML_HOST": "127.0.0.1",
        "ANIML_PORT": str(port),
        "PYTHONPATH": str(CONTAINER_DIR),
        **extra,
    }


@contextmanager
def serving(model_dir: Path, **extra_env: str) -> Iterator[str]:
    """`python -m animl_serve serve` as a plain process on loopback; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "animl_serve", "serve"],
        env=server_env(model_dir, port, **extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"the server exited with {process.returncode}:\n{process.stdout.read()}"
                )
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the server did not answer /ping with 200 within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="module")
def detector_url(artifacts) -> Iterator[str]:
    with serving(artifacts["detector"]) as url:
        yield url


@pytest.fixture(scope="module")
def classifier_url(artifacts) -> Iterator[str]:
    with serving(artifacts["classifier"]) as url:
        yield url


@pytest.fixture(scope="module")
def speciesnet_url(artifacts) -> Iterator[str]:
    with serving(artifacts["speciesnet"]) as url:
        yield url
