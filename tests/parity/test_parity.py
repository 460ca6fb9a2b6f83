"""The runtime against ports of the original handlers, on the same small ONNX model and 13 varied
photos: the registry's declared pre-processing must reproduce what each model was served with.

Classifiers: top-1 agrees on every photo and no probability differs by more than 1e-4 (the bar
was 0.01; the runtime reproduces the handlers to the rounding of its answer).
MegaDetector v5: the same boxes above 0.05 confidence, IoU >= 0.99, confidence within 1e-4.
"""

from __future__ import annotations

import base64
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from animl_emulator import sample_models as onnx_models
from model_registry.artifact import artifact_config
from model_registry.loader import load_fleet
from tests.containers.conftest import serving
from tests.ops.conftest import build_artifact
from tests.parity import original_handlers as original
from tests.parity.photos import Photo, photos
from tests.registries import PRODUCTION_REGISTRY

CLASSIFIERS: dict[str, Callable[[bytes], np.ndarray]] = {
    "mirav2": original.mirav2_input,
    "nzdoc": original.nzdoc_input,
    "sdzwa-andesv1": original.sdzwa_input,
    "sdzwa-southwestv3": original.sdzwa_input,
    "deepfaune-ne": original.deepfaune_input,
}
MIN_CONFIDENCE = 0.05


@pytest.fixture(scope="module")
def photo_set() -> list[Photo]:
    return photos()


def _served(tmp_path: Path, model: str, onnx: Path) -> Iterator[tuple[str, ort.InferenceSession]]:
    config = artifact_config(load_fleet(PRODUCTION_REGISTRY).models[model])
    archive = build_artifact(tmp_path, config, onnx)
    extracted = tmp_path / "extracted"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="data")
    with serving(extracted) as url:
        yield url, ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])


def _invoke(url: str, body: bytes) -> object:
    response = httpx.post(f"{url}/invocations", content=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("model", sorted(CLASSIFIERS))
def test_classifier_answers_as_its_original_handler(model, photo_set, tmp_path):
    spec = load_fleet(PRODUCTION_REGISTRY).models[model]
    height, width = spec.preprocessing.classifier.input_size
    onnx = onnx_models.conv_classifier(
        tmp_path / "model.onnx", len(spec.class_ids), (height, width)
    )
    labels = spec.class_ids
    worst = 0.0
    for url, session in _served(tmp_path, model, onnx):
        for photo in photo_set:
            body = json.dumps(
                {"image": base64.b64encode(photo.jpeg).decode(), "bbox": photo.bbox}
            ).encode()
            ours = _invoke(url, body)
            theirs = original.classify(session, CLASSIFIERS[model](body), labels)
            assert next(iter(ours)) == next(iter(theirs)), photo.name
            assert set(ours) == set(theirs), photo.name
            worst = max(worst, *(abs(ours[k] - theirs[k]) for k in ours))
    assert worst <= 1e-4, worst  # the issue asks for 0.01; measured 1e-6


def _match(theirs: dict, candidates: list[dict]) -> dict | None:
    for ours in candidates:
        if ours["class"] != theirs["class"]:
            continue
        a = [theirs[k] for k in ("x1", "y1", "x2", "y2")]
        b = [ours[k] for k in ("x1", "y1", "x2", "y2")]
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(
            0, min(a[3], b[3]) - max(a[1], b[1])
        )
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        # A box clipped to nothing at the image border has no IoU: compare its corners.
        degenerate = union <= 0 and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 1e-4
        if degenerate or (union > 0 and inter / union >= 0.99):
            return ours
    return None


def test_megadetector_answers_as_its_original_handler(photo_set, tmp_path):
    onnx = onnx_models.grid_detector(tmp_path / "model.onnx", (960, 1280))
    compared = 0
    for url, session in _served(tmp_path, "megadetector-v5a", onnx):
        for photo in photo_set:
            ours = [d for d in _invoke(url, photo.jpeg) if d["confidence"] >= MIN_CONFIDENCE]
            theirs = [
                d
                for d in original.megadetector(session, photo.jpeg)
                if d["confidence"] >= MIN_CONFIDENCE
            ]
            assert theirs, photo.name
            for box in theirs:
                match = _match(box, ours)
                assert match is not None, (photo.name, box)
                assert abs(match["confidence"] - box["confidence"]) <= 1e-4, (photo.name, box)
            assert len(ours) == len(theirs), photo.name
            compared += len(theirs)
    assert compared > 100
