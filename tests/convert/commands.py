"""The converter and the packaging tool run as an engineer runs them, and the source model's own
answer to a request, computed with the runtime's pre- and post-processing."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from animl_contract.artifact import ArtifactConfig
from animl_convert.sources import Source
from animl_ops.local_runtime import invoke, serving_archive
from animl_serve import geometry
from animl_serve.handlers.base import class_scores, crop_and_resize, to_batch, top_indices
from animl_serve.handlers.detector import detect
from checkout import REPO_ROOT
from tests.ops.conftest import OpsRun, run_ops
from tests.registries import FIXTURE_REGISTRY


def package(
    model: str, out: Path, archive: Path, registry: Path = FIXTURE_REGISTRY, report: bool = True
) -> OpsRun:
    """`artifact build` of a conversion's output folder, with its report unless told not to."""
    args = ["artifact", "build", model, "--onnx", str(out / "model.onnx"), "--out", str(archive),
            "--registry", str(registry)]  # fmt: skip
    if report:
        args += ["--report", str(out / "conversion.json")]
    return run_ops(*args)


def run_convert(model: str, source: Path, *args: str, registry: Path) -> OpsRun:
    result = subprocess.run(
        [sys.executable, "-m", "animl_convert", model, str(source), *args,
         "--registry", str(registry)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return OpsRun(result.returncode, result.stdout, result.stderr)


def photo(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack(
        [(x * (c + 1) * 255 // width + y * 128 // height) % 256 for c in range(3)], axis=-1
    ).astype(np.uint8)
    pixels[height // 4 : height // 2, width // 3 : width // 2] = rng.integers(0, 255, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def classifier_request(jpeg: bytes, bbox: list[float]) -> bytes:
    return json.dumps({"image": base64.b64encode(jpeg).decode(), "bbox": bbox}).encode()


def assert_classifier_serves_as(
    source: Source, config: ArtifactConfig, archive: Path, requests: list[tuple[int, list[float]]]
) -> None:
    """The packaged artifact, served by the runtime, answers each request as the source does."""
    with serving_archive(archive) as url:
        for seed, bbox in requests:
            jpeg = photo(seed=seed)
            status, body = invoke(url, classifier_request(jpeg, bbox), "application/json")
            assert status == 200, body
            served = json.loads(body)
            expected = source_classifier_answer(source, config, jpeg, bbox)
            assert list(served) == list(expected)
            assert served == pytest.approx(expected, abs=2e-6)


def source_classifier_answer(
    source: Source, config: ArtifactConfig, jpeg: bytes, bbox: list[float]
) -> dict[str, float]:
    settings = config.preprocessing.classifier
    assert settings is not None
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    box = geometry.parse_bbox(bbox, settings.bbox_format)
    batch = to_batch(crop_and_resize(image, box, settings), settings)
    scores = class_scores(source.run(batch)[0], config)
    labels = config.labels
    return {labels[i]: round(float(scores[i]), 6) for i in top_indices(scores, settings.top_k)}


class _SourceBackend:
    def __init__(self, source: Source, input_shape: tuple[int, ...]) -> None:
        self.source, self.input_shape = source, input_shape

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.source.run(batch)


def source_detections(source: Source, config: ArtifactConfig, jpeg: bytes) -> list[dict[str, Any]]:
    settings = config.preprocessing.detector
    assert settings is not None
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    backend = _SourceBackend(source, (1, 3, *settings.canvas))
    width, height = image.size
    return [
        {"box": [d.box[0] / width, d.box[1] / height, d.box[2] / width, d.box[3] / height],
         "confidence": d.confidence, "class": int(config.labels[d.class_index])}
        for d in detect(image, backend, settings, len(config.labels))  # type: ignore[arg-type]
    ]  # fmt: skip
