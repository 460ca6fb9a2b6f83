"""Tiny ONNX models built with onnx.helper, in the layouts the handlers expect: what the tests and
the demo serve where no real weights can be had."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 18)]


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="animl-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolov5_detector(path: Path, predictions: np.ndarray) -> Path:
    """A detector whose output is always `predictions` (1, N, 5 + classes), in canvas pixels.

    The input has dynamic height and width, like MegaDetector's export; it still flows into the
    output (times zero) so ONNX Runtime cannot prune it.
    """
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, list(predictions.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["predictions", "nothing"], ["output"]),
    ]
    initializers = [
        numpy_helper.from_array(predictions.astype(np.float32), "predictions"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
    ]
    return _save(helper.make_graph(nodes, "yolov5", [images], [output], initializers), path)


def color_classifier(path: Path, classes: int, size: int, layout: str = "NCHW") -> Path:
    """Logits = mean RGB colour x a fixed matrix: red, green and blue images win classes 0, 1, 2."""
    shape = [1, 3, size, size] if layout == "NCHW" else [1, size, size, 3]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    weights = np.zeros((3, classes), np.float32)
    for channel in range(min(3, classes)):
        weights[channel, channel] = 10.0
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, shape)
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])
    nodes = [
        helper.make_node("ReduceMean", ["pixels", "axes"], ["colour"], keepdims=0),
        helper.make_node("MatMul", ["colour", "weights"], ["logits"]),
    ]
    initializers = [
        numpy_helper.from_array(np.asarray(axes, np.int64), "axes"),
        numpy_helper.from_array(weights, "weights"),
    ]
    return _save(helper.make_graph(nodes, "classifier", [pixels], [logits], initializers), path)


def slow_classifier(path: Path, classes: int, size: int, matmuls: int = 300) -> Path:
    """A classifier that spends real CPU time: a chain of 512x512 matrix products."""
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, size, size])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])
    nodes = [
        helper.make_node("ReduceMean", ["pixels"], ["mean"], keepdims=0),
        helper.make_node("Expand", ["mean", "square"], ["x0"]),
    ]
    for i in range(matmuls):
        nodes.append(helper.make_node("MatMul", [f"x{i}", "w"], [f"y{i}"]))
        nodes.append(helper.make_node("Tanh", [f"y{i}"], [f"x{i + 1}"]))
    nodes += [
        helper.make_node("ReduceMean", [f"x{matmuls}"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "spread"], ["logits"]),
    ]
    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(np.asarray([512, 512], np.int64), "square"),
        numpy_helper.from_array((rng.standard_normal((512, 512)) / 23).astype(np.float32), "w"),
        numpy_helper.from_array(np.linspace(0, 1, classes, dtype=np.float32)[None], "spread"),
    ]
    return _save(helper.make_graph(nodes, "slow", [pixels], [logits], initializers), path)


def conv_classifier(path: Path, classes: int, size: tuple[int, int], seed: int = 0) -> Path:
    """A small convolutional classifier with random weights whose logits depend on what is where
    in the image (4x4 regions of its features): parity tests need a model that notices a shifted
    crop, another resize filter or a missing normalization."""
    height, width = size
    rng = np.random.default_rng(seed)
    feature_h, feature_w = (height - 1) // 4 + 1, (width - 1) // 4 + 1
    pool = (feature_h // 4, feature_w // 4)
    regions = ((feature_h - pool[0]) // pool[0] + 1) * ((feature_w - pool[1]) // pool[1] + 1)
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, height, width])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])
    nodes = [
        helper.make_node("Conv", ["pixels", "w1", "b1"], ["c1"], strides=[4, 4], pads=[2] * 4),
        helper.make_node("Tanh", ["c1"], ["t1"]),
        helper.make_node("AveragePool", ["t1"], ["pooled"], kernel_shape=pool, strides=pool),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["logits"]),
    ]
    initializers = [
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 5, 5)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b1"),
        numpy_helper.from_array(
            rng.normal(0, 1.0, (8 * regions, classes)).astype(np.float32), "w2"
        ),
        numpy_helper.from_array(np.zeros(classes, np.float32), "b2"),
    ]
    return _save(helper.make_graph(nodes, "conv", [pixels], [logits], initializers), path)


def grid_detector(
    path: Path, canvas: tuple[int, int], classes: int = 3, cell: int = 32, seed: int = 0
) -> Path:
    """A YOLOv5-layout detector on a fixed canvas, as MegaDetector v5 is exported: one box per
    cell x cell block, whose offset, size, objectness and class scores come from a convolution
    of that block, so the boxes and confidences follow the image's content."""
    height, width = canvas
    rows, cols = height // cell, width // cell
    channels = 5 + classes
    rng = np.random.default_rng(seed)
    grid_y, grid_x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    scale = np.ones((1, channels, rows, cols), np.float32)
    offset = np.zeros_like(scale)
    scale[0, 0], offset[0, 0] = cell, grid_x * cell  # centre x within its cell
    scale[0, 1], offset[0, 1] = cell, grid_y * cell
    scale[0, 2:4], offset[0, 2:4] = 4 * cell, cell  # width and height of one to five cells
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, height, width])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, rows * cols, channels])
    nodes = [
        helper.make_node("Conv", ["images", "w", "b"], ["conv"], strides=[cell, cell]),
        helper.make_node("Sigmoid", ["conv"], ["unit"]),
        helper.make_node("Mul", ["unit", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "offset"], ["decoded"]),
        helper.make_node("Reshape", ["decoded", "flat_shape"], ["flat"]),
        helper.make_node("Transpose", ["flat"], ["output"], perm=[0, 2, 1]),
    ]
    weights = rng.normal(0, 4.0 / cell, (channels, 3, cell, cell)).astype(np.float32)
    initializers = [
        numpy_helper.from_array(weights, "w"),
        # Objectness low by default: a few confident boxes, as on a real photo.
        numpy_helper.from_array(np.r_[0, 0, 0, 0, -6.0, np.zeros(classes)].astype(np.float32), "b"),
        numpy_helper.from_array(scale, "scale"),
        numpy_helper.from_array(offset, "offset"),
        numpy_helper.from_array(np.asarray([1, channels, rows * cols], np.int64), "flat_shape"),
    ]
    return _save(helper.make_graph(nodes, "grid", [images], [output], initializers), path)


def fails_on_bright_crops(path: Path, classes: int, size: int, threshold: float = 1.5) -> Path:
    """A classifier that loads and answers the runtime's start-up check (a mid-grey textured
    image), but fails in ONNX Runtime on a crop whose mean normalized value exceeds `threshold`
    (a white image under ImageNet normalization): a broken model that only traffic reveals."""
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, size, size])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])
    nodes = [
        helper.make_node("ReduceMean", ["pixels"], ["mean"], keepdims=0),
        helper.make_node("Greater", ["mean", "threshold"], ["bright"]),
        helper.make_node("Cast", ["bright"], ["one_if_bright"], to=TensorProto.INT64),
        # Row 0 for a dark crop; row 5 of a one-row table, out of bounds, for a bright one.
        helper.make_node("Mul", ["one_if_bright", "five"], ["row"]),
        helper.make_node("Unsqueeze", ["row", "axis"], ["rows"]),
        helper.make_node("Gather", ["table", "rows"], ["logits"], axis=0),
    ]
    initializers = [
        numpy_helper.from_array(np.asarray(threshold, np.float32), "threshold"),
        numpy_helper.from_array(np.asarray(5, np.int64), "five"),
        numpy_helper.from_array(np.asarray([0], np.int64), "axis"),
        numpy_helper.from_array(np.linspace(0, 1, classes, dtype=np.float32)[None], "table"),
    ]
    return _save(helper.make_graph(nodes, "bright", [pixels], [logits], initializers), path)
