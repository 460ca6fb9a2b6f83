from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from animl_emulator import sample_models as onnx_models
from animl_emulator import sample_release as release
from animl_ops import local_runtime
from animl_serve.package import build
from checkout import RUNTIME_DIR as CONTAINER_DIR

MD_LABELS = ["1", "2", "3"]
CLASSIFIER_LABELS = ["red thing", "green thing", "blue thing", "Bird sp.", "fox"]
SPECIESNET_LABELS = release.CLASSIFIER_LABELS

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
    """Builds model.tar.gz with the real packaging tool and extracts it as SageMaker would; a
    SpeciesNet with a detector gets the test release's taxonomy and geofence."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "animl-model.json"
    config_path.write_text(json.dumps(config))
    taxonomy = geofence = None
    if detector is not None:
        taxonomy, geofence = release.write(folder / "release")
    archive = build(
        onnx,
        config_path,
        folder / "model.tar.gz",
        detector=detector,
        optimize=optimize,
        taxonomy=taxonomy,
        geofence=geofence,
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
            root / "classifier.onnx", len(CLASSIFIER_LABELS), 64
        ),
        "speciesnet": onnx_models.color_classifier(
            root / "speciesnet.onnx", len(SPECIESNET_LABELS), 480, "NHWC"
        ),
        "slow": onnx_models.slow_classifier(root / "slow.onnx", 2, 32, matmuls=1000),
    }
    md: dict[str, Any] = {
        "name": "megadetector-v5a",
        "version": "5a",
        "family": "detector",
        "labels": MD_LABELS,
        "preprocessing": {"detector": {"canvas": [960, 1280], "canvas_mode": "stride-multiple"}},
    }
    classifier: dict[str, Any] = {
        "name": "mirav2",
        "version": "2.0",
        "family": "crop-classifier",
        "labels": CLASSIFIER_LABELS,
        "preprocessing": {
            "classifier": {"input_size": 64, "normalization": "imagenet", "top_k": None}
        },
    }
    speciesnet = {
        "name": "speciesnetv401a",
        "version": "4.0.1a",
        "family": "speciesnet",
        "labels": SPECIESNET_LABELS,
        "preprocessing": {
            "exif_orientation": "apply",
            "classifier": {
                "input_size": 480,
                "bbox_format": "xywh",
                "crop": "box",
                "resize_filter": "tf-bilinear",
                "normalization": "none",
                "layout": "NHWC",
            },
            "detector": {
                "canvas": [1280, 1280],
                "canvas_mode": "stride-multiple",
                "scale_up": True,
                "box_rescale": "canvas",
                "confidence_threshold": 0.01,
                "max_detections": 300,
            },
            "ensemble": {"geofence": True},
        },
    }
    slow = {
        "name": "slow",
        "version": "1",
        "family": "crop-classifier",
        "labels": ["a", "b"],
        "preprocessing": {"classifier": {"input_size": 32, "normalization": "imagenet"}},
    }
    return {
        "detector": make_artifact(root / "md", onnx["detector"], md),
        "detector-exif": make_artifact(
            root / "md-exif",
            onnx["detector"],
            md | {"preprocessing": md["preprocessing"] | {"exif_orientation": "apply"}},
        ),
        "classifier": make_artifact(root / "cls", onnx["classifier"], classifier, optimize=True),
        "xywh-classifier": make_artifact(
            root / "xywh",
            onnx["classifier"],
            classifier
            | {
                "preprocessing": {
                    "classifier": classifier["preprocessing"]["classifier"]
                    | {"bbox_format": "xywh"}
                }
            },
        ),
        "speciesnet": make_artifact(
            root / "sn", onnx["speciesnet"], speciesnet, detector=onnx["detector"], optimize=True
        ),
        "slow": make_artifact(root / "slow", onnx["slow"], slow),
    }


def serve_until_exit(model_dir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`python -m animl_serve serve` on an artifact expected to stop it: its exit and output."""
    return subprocess.run(
        [sys.executable, "-m", "animl_serve", "serve"],
        env=local_runtime.runtime_env(model_dir, local_runtime.free_port(), **extra_env),
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def serving(model_dir: Path, **extra_env: str) -> Iterator[str]:
    """The runtime on loopback; a start-up failure fails the test with the runtime's output."""
    try:
        with local_runtime.serving(model_dir, **extra_env) as url:
            yield url
    except local_runtime.LocalRuntimeError as error:
        pytest.fail(str(error))


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
