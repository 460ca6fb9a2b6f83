"""Static INT8 quantization (QDQ, calibrated on the engineer's images) with ONNX Runtime's tools,
and the latency of a graph on this machine."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from animl_convert.errors import CheckFailed


class _Batches(CalibrationDataReader):
    def __init__(self, input_name: str, images: np.ndarray) -> None:
        self._items: Iterator[dict[str, np.ndarray]] = iter(
            {input_name: images[i : i + 1]} for i in range(len(images))
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantizer warns on the root logger once per node for what it handles
    itself ("Axis 1 is out-of-range for weight ... with rank 1": a 1-D weight, such as a
    LayerNorm's, quantized per tensor instead of per channel)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_int8(fp32: Path, out: Path, calibration: np.ndarray, per_channel: bool) -> None:
    """Weights int8 (per output channel when asked), activations uint8 with ranges from the
    calibration images, as QuantizeLinear/DequantizeLinear pairs the CPU provider fuses."""
    prepared = out.with_name("prepared.onnx")
    input_name = ort.InferenceSession(str(fp32)).get_inputs()[0].name
    try:
        with _quiet_root_logger():
            quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(out),
                _Batches(input_name, calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
    except Exception as error:  # the quantization tools raise many unrelated types
        raise CheckFailed(f"INT8 quantization failed: {type(error).__name__}: {error}") from error
    finally:
        prepared.unlink(missing_ok=True)


def latency_seconds(graph: Path, inputs: np.ndarray, runs: int = 5) -> float:
    """Median time of one single-image inference, after a warm-up, on all of this machine's CPUs."""
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    one = inputs[:1]
    session.run(None, {name: one})
    times = []
    for i in range(runs):
        sample = inputs[i % len(inputs) : i % len(inputs) + 1]
        start = time.perf_counter()
        session.run(None, {name: sample})
        times.append(time.perf_counter() - start)
    return statistics.median(times)
