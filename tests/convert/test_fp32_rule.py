"""The FP32 rule where Animl reads the model, the inputs it is checked on, and the INT8 gate's
probability bound: a correct graph passes on photo-like images, a graph with one weight changed
fails, and an INT8 graph that keeps top-1 only because every input gets one class fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from animl_contract.conversion import Agreement  # noqa: E402
from animl_convert.convert import _gate  # noqa: E402
from animl_convert.inputs import photo_like, prepared, synthetic_images  # noqa: E402
from animl_convert.parity import agreement, fp32_problem  # noqa: E402
from animl_convert.sources import OnnxSource, TorchSource  # noqa: E402
from animl_serve.geometry import LETTERBOX_FILL  # noqa: E402
from tests.convert.test_torch import classifier  # noqa: E402
from tests.registries import fixture_fleet  # noqa: E402

MIRAV2 = fixture_fleet().models["mirav2"]


def _exported(tmp_path: Path, inputs: np.ndarray) -> tuple[TorchSource, Path]:
    source = TorchSource(torch.jit.trace(classifier(), torch.rand(1, 3, 300, 300)))
    graph = tmp_path / "model.onnx"
    source.export(graph, inputs)
    return source, graph


def test_a_correct_graph_passes_on_photo_like_images_and_one_changed_weight_fails(tmp_path):
    assert MIRAV2.preprocessing is not None
    inputs = synthetic_images(MIRAV2.preprocessing)
    source, graph = _exported(tmp_path, inputs)
    reference = source.run(inputs)
    correct = agreement("torchscript source", reference, OnnxSource(graph).run(inputs), "synthetic")
    assert fp32_problem(correct) is None
    assert correct.max_probability_diff is not None
    assert correct.max_probability_diff < 1e-5

    model = onnx.load(str(graph))
    head = next(t for t in model.graph.initializer if t.name.endswith("head.weight"))
    weights = onnx.numpy_helper.to_array(head).copy()
    weights[0, 0] += 0.5  # one weight of the classifier's head
    head.CopyFrom(onnx.numpy_helper.from_array(weights, head.name))
    perturbed = tmp_path / "perturbed.onnx"
    onnx.save(model, str(perturbed))
    broken = agreement(
        "torchscript source", reference, OnnxSource(perturbed).run(inputs), "synthetic"
    )
    problem = fp32_problem(broken)
    assert problem is not None
    assert problem.startswith("its probabilities differ from the source's by up to ")


def test_inputs_are_prepared_as_the_endpoint_prepares_them():
    rng = np.random.default_rng(0)
    photo = photo_like(640, 480, rng)
    # mirav2: square crop of the whole 640x480 frame (black below it), shorter side to 300.
    assert MIRAV2.preprocessing is not None
    batch = prepared(photo, MIRAV2.preprocessing)
    assert batch.shape == (1, 3, 300, 300)
    black = (0 - 0.485) / 0.229
    assert np.allclose(
        batch[0, 0, -20:, :], black, atol=1e-5
    )  # the square's padding, not a stretch
    # MegaDetector: letterboxed into 960x1280 without enlarging, grey 114 around the photo.
    detector = fixture_fleet().models["megadetector-v5a"].preprocessing
    assert detector is not None
    canvas = prepared(photo, detector)
    assert canvas.shape == (1, 3, 960, 1280)
    assert np.allclose(canvas[0, :, :100, :], LETTERBOX_FILL / 255)
    middle = np.asarray(photo.convert("RGB"), np.float32)[None].transpose(0, 3, 1, 2) / 255
    assert np.allclose(canvas[:, :, 240:720, 320:960], middle)


def test_the_synthetic_images_look_like_photos_not_noise_or_flat_colour():
    rng = np.random.default_rng(1)
    pixels = np.asarray(photo_like(1024, 768, rng), np.float32)
    assert 20 < pixels.std() < 90  # neither flat nor saturated noise
    neighbours = np.corrcoef(pixels[:, :-1, 0].ravel(), pixels[:, 1:, 0].ravel())[0, 1]
    assert neighbours > 0.9  # neighbouring pixels alike, as in a photo; white noise is near 0


def _scores(top: int, spread: float, count: int = 16, classes: int = 5) -> np.ndarray:
    logits = np.zeros((count, classes), np.float32)
    logits[:, top] = 3.0
    logits[:, 1] += np.linspace(0, spread, count)
    return logits


def test_an_int8_graph_whose_probabilities_move_fails_though_top_1_agrees():
    fp32 = [_scores(0, 0.0)]
    int8 = [_scores(0, 2.5)]  # class 0 still wins everywhere, its probability falls by ~0.4
    measured = agreement("fp32 onnx", fp32, int8, "synthetic")
    assert measured.top1_agreement == 1.0
    _, failed = _gate(MIRAV2, measured, fp32_classes=4)
    assert len(failed) == 1
    assert failed[0].startswith("probabilities moved by up to 0.")
    close = agreement("fp32 onnx", fp32, [_scores(0, 0.05)], "synthetic")
    assert _gate(MIRAV2, close, fp32_classes=4)[1] == []
    # And inputs on which the FP32 graph answers one class cannot judge it at all.
    assert _gate(MIRAV2, close, fp32_classes=1)[1] == [
        "the FP32 graph answers one class for all 16 inputs, so they cannot judge it: use "
        "samples of the classes it tells apart"
    ]


def test_the_report_says_what_the_inputs_were():
    measured = Agreement(reference="r", inputs=8, input_source="synthetic", max_abs_diff=0,
                         output_scale=1, relative_diff=0, top1_agreement=1.0,
                         max_probability_diff=2e-8)  # fmt: skip
    assert measured.describe() == (
        "probabilities within 2.0e-08, top-1 agreement 1.000 on 8 synthetic photo-like images"
    )
