"""ONNX graphs of real architectures with random weights, built without torch: MegaDetector v5's
YOLOv5x6 (fixed 1280x1280 input, decoded (1, N, 8) output) and ResNet-50. Batch norm is folded
into the convolutions, as it is in an exported model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# YOLOv5's P3-P6 anchors (pixels) for the x6 models.
ANCHORS_P6 = [
    [(19, 27), (44, 40), (38, 94)],
    [(96, 68), (86, 152), (180, 137)],
    [(140, 301), (303, 264), (238, 542)],
    [(436, 615), (739, 380), (925, 792)],
]


class GraphBuilder:
    def __init__(self, seed: int = 0, gain: float = 1.8) -> None:
        self.gain = gain
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, array: np.ndarray, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv(
        self,
        x: str,
        c_in: int,
        c_out: int,
        k: int,
        s: int = 1,
        act: str | None = "silu",
        bias: np.ndarray | None = None,
        pad: int | None = None,
        gain: float | None = None,
    ) -> str:
        scale = np.sqrt((gain or self.gain) / (c_in * k * k))
        w = (self.rng.standard_normal((c_out, c_in, k, k)) * scale).astype(np.float32)
        b = bias if bias is not None else np.zeros(c_out, np.float32)
        y = self.op(
            "Conv",
            [x, self.const(w, "w"), self.const(b.astype(np.float32), "b")],
            kernel_shape=[k, k],
            strides=[s, s],
            pads=[k // 2 if pad is None else pad] * 4,
        )
        if act == "silu":
            return self.op("Mul", [y, self.op("Sigmoid", [y])])
        if act == "relu":
            return self.op("Relu", [y])
        return y

    def graph(self, name: str, inputs: list, outputs: list, path: Path) -> Path:
        model = helper.make_model(
            helper.make_graph(self.nodes, name, inputs, outputs, self.initializers),
            opset_imports=[helper.make_opsetid("", 18)],
        )
        model.ir_version = 8
        onnx.save(model, path)
        return path


def _bottleneck(g: GraphBuilder, x: str, c: int, shortcut: bool) -> str:
    y = g.conv(g.conv(x, c, c, 1), c, c, 3)
    return g.op("Add", [x, y]) if shortcut else y


def _c3(g: GraphBuilder, x: str, c_in: int, c_out: int, n: int, shortcut: bool = True) -> str:
    hidden = c_out // 2
    a = g.conv(x, c_in, hidden, 1)
    for _ in range(n):
        a = _bottleneck(g, a, hidden, shortcut)
    b = g.conv(x, c_in, hidden, 1)
    return g.conv(g.op("Concat", [a, b], axis=1), 2 * hidden, c_out, 1)


def _sppf(g: GraphBuilder, x: str, c_in: int, c_out: int) -> str:
    hidden = c_in // 2
    x = g.conv(x, c_in, hidden, 1)
    pools = [x]
    for _ in range(3):
        pools.append(
            g.op("MaxPool", [pools[-1]], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2])
        )
    return g.conv(g.op("Concat", pools, axis=1), 4 * hidden, c_out, 1)


def _upsample(g: GraphBuilder, x: str) -> str:
    scales = g.const(np.asarray([1, 1, 2, 2], np.float32), "scales")
    return g.op("Resize", [x, "", scales], mode="nearest")


def _detect_level(
    g: GraphBuilder, x: str, c_in: int, classes: int, stride: int, size: int, anchors: list
) -> str:
    """YOLOv5's Detect for one level, decoded to (1, 3 * h * w, 5 + classes) in input pixels."""
    outputs = 5 + classes
    h = w = size // stride
    bias = np.zeros((3, outputs), np.float32)
    # Random weights: the gain and the objectness bias make the untrained head give about as many
    # candidates above the 0.0005 minimum as MegaDetector does on a real photo (hundreds).
    bias[:, 4] = -11.0
    raw = g.conv(x, c_in, 3 * outputs, 1, act=None, bias=bias.reshape(-1), gain=1000.0)
    raw = g.op("Reshape", [raw, g.const(np.asarray([1, 3, outputs, h, w], np.int64))])
    y = g.op("Sigmoid", [g.op("Transpose", [raw], perm=[0, 1, 3, 4, 2])])  # (1, 3, h, w, outputs)
    gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = (np.stack([gx, gy], -1)[None, None] - 0.5).astype(np.float32)  # (1, 1, h, w, 2)
    anchor_grid = np.asarray(anchors, np.float32).reshape(1, 3, 1, 1, 2)
    xy, wh, rest = (
        g.op(
            "Slice",
            [
                y,
                g.const(np.asarray([a], np.int64)),
                g.const(np.asarray([b], np.int64)),
                g.const(np.asarray([4], np.int64)),
            ],
        )
        for a, b in ((0, 2), (2, 4), (4, outputs))
    )
    two = g.const(np.asarray(2.0, np.float32))
    xy = g.op(
        "Mul",
        [
            g.op("Add", [g.op("Mul", [xy, two]), g.const(grid)]),
            g.const(np.asarray(float(stride), np.float32)),
        ],
    )
    wh2 = g.op("Mul", [wh, two])
    wh = g.op("Mul", [g.op("Mul", [wh2, wh2]), g.const(anchor_grid)])
    decoded = g.op("Concat", [xy, wh, rest], axis=4)
    return g.op("Reshape", [decoded, g.const(np.asarray([1, -1, outputs], np.int64))])


def yolov5x6(path: Path, classes: int = 3, size: int = 1280) -> Path:
    """YOLOv5x6 (depth 1.33, width 1.25): MegaDetector v5's architecture."""
    g = GraphBuilder()
    c = lambda v: int(v * 1.25)  # noqa: E731 - width multiple
    n = lambda v: max(round(v * 1.33), 1)  # noqa: E731 - depth multiple
    x = g.conv("images", 3, c(64), 6, 2, pad=2)
    x = g.conv(x, c(64), c(128), 3, 2)
    x = _c3(g, x, c(128), c(128), n(3))
    x = g.conv(x, c(128), c(256), 3, 2)
    p3 = _c3(g, x, c(256), c(256), n(6))
    x = g.conv(p3, c(256), c(512), 3, 2)
    p4 = _c3(g, x, c(512), c(512), n(9))
    x = g.conv(p4, c(512), c(768), 3, 2)
    p5 = _c3(g, x, c(768), c(768), n(3))
    x = g.conv(p5, c(768), c(1024), 3, 2)
    x = _c3(g, x, c(1024), c(1024), n(3))
    x = _sppf(g, x, c(1024), c(1024))

    h12 = g.conv(x, c(1024), c(768), 1)
    x = _c3(g, g.op("Concat", [_upsample(g, h12), p5], axis=1), 2 * c(768), c(768), n(3), False)
    h16 = g.conv(x, c(768), c(512), 1)
    x = _c3(g, g.op("Concat", [_upsample(g, h16), p4], axis=1), 2 * c(512), c(512), n(3), False)
    h20 = g.conv(x, c(512), c(256), 1)
    out3 = _c3(g, g.op("Concat", [_upsample(g, h20), p3], axis=1), 2 * c(256), c(256), n(3), False)
    x = g.conv(out3, c(256), c(256), 3, 2)
    out4 = _c3(g, g.op("Concat", [x, h20], axis=1), 2 * c(256), c(512), n(3), False)
    x = g.conv(out4, c(512), c(512), 3, 2)
    out5 = _c3(g, g.op("Concat", [x, h16], axis=1), 2 * c(512), c(768), n(3), False)
    x = g.conv(out5, c(768), c(768), 3, 2)
    out6 = _c3(g, g.op("Concat", [x, h12], axis=1), 2 * c(768), c(1024), n(3), False)

    levels = [(out3, c(256), 8), (out4, c(512), 16), (out5, c(768), 32), (out6, c(1024), 64)]
    decoded = [
        _detect_level(g, t, ch, classes, s, size, a)
        for (t, ch, s), a in zip(levels, ANCHORS_P6, strict=True)
    ]
    g.nodes.append(helper.make_node("Concat", decoded, ["output"], axis=1))
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None, 5 + classes])
    return g.graph("yolov5x6", [images], [output], path)


def resnet50(path: Path, classes: int, size: int = 224) -> Path:
    g = GraphBuilder(seed=1)
    x = g.conv("pixels", 3, 64, 7, 2, act="relu")
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            s = stride if i == 0 else 1
            y = g.conv(x, c_in, width, 1, act="relu")
            y = g.conv(y, width, width, 3, s, act="relu")
            y = g.conv(y, width, width * 4, 1, act=None)
            skip = g.conv(x, c_in, width * 4, 1, s, act=None) if i == 0 else x
            x = g.op("Relu", [g.op("Add", [y, skip])])
            c_in = width * 4
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    weights = g.const((g.rng.standard_normal((c_in, classes)) * 0.01).astype(np.float32))
    g.nodes.append(helper.make_node("MatMul", [pooled, weights], ["logits"]))
    pixels = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, size, size])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])
    return g.graph("resnet50", [pixels], [logits], path)
