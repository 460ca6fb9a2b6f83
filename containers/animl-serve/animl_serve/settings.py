"""Runtime settings from environment variables, which the registry can set per endpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from animl_contract.limits import PAYLOAD_MAX_BYTES
from animl_serve.backend import GRAPH_LEVELS
from animl_serve.cpu import usable_cpus


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    host: str
    port: int
    intra_op_threads: int
    graph_optimization: str
    inference_workers: int
    max_body_bytes: int
    max_image_pixels: int
    log_level: str


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not an integer") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name}={value} must be {lo}..{hi}")
    return value


def load_settings(env: Mapping[str, str] = os.environ) -> Settings:
    """Every ANIML_* variable is optional; SAGEMAKER_BIND_TO_PORT wins when SageMaker sets it."""
    graph = env.get("ANIML_GRAPH_OPTIMIZATION", "all")
    if graph not in GRAPH_LEVELS:
        raise SettingsError(
            f"ANIML_GRAPH_OPTIMIZATION={graph!r} must be one of {list(GRAPH_LEVELS)}"
        )
    port_name = "SAGEMAKER_BIND_TO_PORT" if env.get("SAGEMAKER_BIND_TO_PORT") else "ANIML_PORT"
    return Settings(
        model_dir=Path(env.get("ANIML_MODEL_DIR", "/opt/ml/model")),
        host=env.get("ANIML_HOST", "0.0.0.0"),  # noqa: S104 - SageMaker connects from outside
        port=_int(env, port_name, 8080, 1, 65535),
        intra_op_threads=_int(env, "ANIML_INTRA_OP_THREADS", usable_cpus(), 1, 256),
        graph_optimization=graph,
        inference_workers=_int(env, "ANIML_INFERENCE_WORKERS", 1, 1, 64),
        max_body_bytes=_int(
            env, "ANIML_MAX_BODY_BYTES", PAYLOAD_MAX_BYTES, 1024, 64 * PAYLOAD_MAX_BYTES
        ),
        max_image_pixels=_int(env, "ANIML_MAX_IMAGE_PIXELS", 100_000_000, 1, 1_000_000_000),
        log_level=env.get("ANIML_LOG_LEVEL", "info").lower(),
    )
