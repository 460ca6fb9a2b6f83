"""Inference backends. ONNX Runtime is the one we ship; another (TorchScript, say) would
implement the same two members and be chosen by the files in the artifact."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

from animl_serve.errors import ArtifactError

GRAPH_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class Backend(Protocol):
    input_shape: tuple[int | None, ...]

    def run(self, batch: np.ndarray) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class SessionOptions:
    intra_op_threads: int
    graph_optimization: str = "all"
    save_optimized_to: Path | None = None


def session_options(options: SessionOptions) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = GRAPH_LEVELS[options.graph_optimization]
    # Spinning threads burn CPU between requests, which serverless bills and which slows /ping.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if options.save_optimized_to is not None:
        so.optimized_model_filepath = str(options.save_optimized_to)
    return so


class OnnxBackend:
    def __init__(self, model_path: Path, options: SessionOptions) -> None:
        try:
            self.session = ort.InferenceSession(
                str(model_path),
                sess_options=session_options(options),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # ORT raises several untyped errors for a bad graph
            raise ArtifactError(
                f"{model_path.name} cannot be loaded by ONNX Runtime: {exc}"
            ) from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ArtifactError(f"{model_path.name} must have exactly one input, has {len(inputs)}")
        self._input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self._input_name: batch})
