"""A YOLOv5 checkpoint, whose pickled classes come from the engineer's YOLOv5 clone (here a
stand-in, yolov5_stub/), converted for MegaDetector v5a's fixed 960 x 1280 canvas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip(
    "torch", reason="the converters' torch is not installed (make setup-convert)"
)

from animl_contract.conversion import FP32_MAX_BOX_DIFF, ConversionReport  # noqa: E402
from animl_convert.sources import load_source  # noqa: E402
from animl_ops.local_runtime import invoke, serving_archive  # noqa: E402
from model_registry.artifact import artifact_config  # noqa: E402
from tests.convert.commands import package, photo, run_convert, source_detections  # noqa: E402
from tests.registries import FIXTURE_REGISTRY, fixture_fleet  # noqa: E402

YOLOV5_REPO = Path(__file__).with_name("yolov5_stub")
MODEL = "megadetector-v5a"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """Saved as YOLOv5's train.py saves one: {'model': DetectionModel, ...}, pickled whole."""
    sys.path.insert(0, str(YOLOV5_REPO))
    try:
        from models.yolo import DetectionModel

        torch.manual_seed(0)
        model = DetectionModel(classes=3).eval()
        with torch.no_grad():
            # Random weights find nothing: give the coarsest scale an objectness that is local
            # contrast (patch brightness, smoothed, centre minus surround), so that each image
            # has its own few hundred confident boxes, as a trained detector has.
            model.stem[0].weight[0] = 1 / (3 * 64)
            model.stem[0].bias[0] = 0
            surround = -torch.ones(3, 3) / 8
            surround[1, 1] = 1
            for layer, kernel in ((model.down16[0], torch.full((3, 3), 1 / 9)),
                                  (model.down32[0], surround)):  # fmt: skip
                layer.weight[0] = 0
                layer.weight[0, 0] = kernel
                layer.bias[0] = 0
            for scale, conv in enumerate(model.model[-1].m):
                weight, bias = conv.weight.view(3, 8, -1), conv.bias.view(3, 8)
                weight[:, 4] = 0
                bias[:, 4] = -20
                if scale == 2:
                    weight[:, 4, 0] = 1000
                    bias[:, 4] = -8
        path = tmp_path_factory.mktemp("yolov5") / "md_v5a.0.0.pt"
        torch.save({"epoch": -1, "model": model, "ema": None}, path)
    finally:
        sys.path.remove(str(YOLOV5_REPO))
        for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
            del sys.modules[name]
    return path


def test_a_yolov5_checkpoint_converts_and_serves_the_sources_detections(checkpoint, tmp_path):
    out = tmp_path / "converted"
    run = run_convert(MODEL, checkpoint, "--from", "yolov5", "--yolov5-repo", str(YOLOV5_REPO),
                      "--out", str(out), registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = ConversionReport.model_validate_json((out / "conversion.json").read_text())
    assert report.input_shape == ("batch", 3, 960, 1280)
    assert report.fp32.box_f1 == 1.0
    assert (
        max(report.fp32.max_confidence_diff or 0, report.fp32.max_box_diff or 0)
        <= FP32_MAX_BOX_DIFF
    )
    assert report.fp32.box_f1 == 1.0
    assert report.fp32.reference_boxes
    assert report.fp32.reference_boxes > 100

    archive = tmp_path / "model.tar.gz"
    build = package(MODEL, out, archive)
    assert build.returncode == 0, build.stderr

    sys.path.insert(0, str(YOLOV5_REPO))
    try:
        source = load_source("yolov5", checkpoint)
        config = artifact_config(fixture_fleet().models[MODEL])
        with serving_archive(archive) as url:
            for seed in range(2):
                jpeg = photo(1600, 1200, seed=seed)
                status, body = invoke(url, jpeg, None)
                assert status == 200, body
                served = json.loads(body)
                expected = source_detections(source, config, jpeg)
                assert served, "the test detector should find something"
                assert len(served) == len(expected)
                for got, want in zip(served, expected, strict=True):
                    assert got["class"] == want["class"]
                    assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-5)
                    box = [got["x1"], got["y1"], got["x2"], got["y2"]]
                    assert box == pytest.approx(want["box"], abs=1e-5)
    finally:
        sys.path.remove(str(YOLOV5_REPO))


def test_without_the_yolov5_classes_the_error_says_what_to_pass(checkpoint, tmp_path):
    run = run_convert(MODEL, checkpoint, "--from", "yolov5", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert "pickles classes of module 'models.yolo'" in run.stderr
    assert "--yolov5-repo" in run.stderr
    assert not (tmp_path / "o").exists()


def test_a_detectors_int8_gate_is_box_agreement_above_its_threshold(checkpoint, tmp_path):
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    for seed in range(4):
        (calibration / f"{seed}.jpg").write_bytes(photo(1600, 1200, seed=seed))
    out = tmp_path / "converted"
    reason = "test: the stand-in's objectness is a 1000x contrast, not a trained detector's"
    run = run_convert(MODEL, checkpoint, "--from", "yolov5", "--yolov5-repo", str(YOLOV5_REPO),
                      "--int8", "--calibration", str(calibration), "--accept-int8", reason,
                      "--out", str(out), registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = ConversionReport.model_validate_json((out / "conversion.json").read_text())
    assert report.int8 is not None
    assert report.int8.gate == "box F1 >= 0.95 at IoU 0.5, confidences within 0.1"
    measured = report.int8.agreement
    assert measured.box_f1 is not None
    assert measured.top1_agreement is None
    assert measured.reference_boxes == report.fp32.reference_boxes
    assert report.int8.passed == (measured.box_f1 >= 0.95)
    assert report.int8.override_reason == (None if report.int8.passed else reason)
