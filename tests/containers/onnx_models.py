"""Tiny ONNX models built with onnx.helper, in the layouts the handlers expect."""

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
