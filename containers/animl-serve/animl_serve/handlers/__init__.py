"""One handler per model family; the artifact's animl-model.json names the family."""

from __future__ import annotations

from pathlib import Path

from animl_contract.artifact import DETECTOR_FILE, MODEL_FILE, optimized_name
from animl_serve.backend import OnnxBackend, SessionOptions
from animl_serve.errors import ArtifactError, ClientError
from animl_serve.handlers.base import Handler, Limits
from animl_serve.handlers.classifier import CropClassifierHandler
from animl_serve.handlers.detector import DetectorHandler
from animl_serve.handlers.speciesnet import SpeciesNetHandler
from animl_serve.model_config import load_model_config

HANDLERS: dict[str, type[Handler]] = {
    "detector": DetectorHandler,
    "crop-classifier": CropClassifierHandler,
    "speciesnet": SpeciesNetHandler,
}


def model_file(model_dir: Path, name: str = MODEL_FILE) -> Path:
    """The graph-optimized model that packaging may have shipped, else the plain one."""
    for candidate in (optimized_name(name), name):
        if (model_dir / candidate).is_file():
            return model_dir / candidate
    raise ArtifactError(f"{model_dir} holds neither {name} nor its optimized form")


def load_handler(model_dir: Path, options: SessionOptions, limits: Limits) -> Handler:
    """Loads the artifact in model_dir and checks it with one inference on a synthetic image."""
    config = load_model_config(model_dir)
    backend = OnnxBackend(model_file(model_dir), options)
    has_detector = any(
        (model_dir / n).is_file() for n in (DETECTOR_FILE, optimized_name(DETECTOR_FILE))
    )
    detector = OnnxBackend(model_file(model_dir, DETECTOR_FILE), options) if has_detector else None
    handler = HANDLERS[config.family](
        config, backend, limits, detector=detector, model_dir=model_dir
    )
    try:
        handler.predict(handler.synthetic_request())
    except (ArtifactError, ClientError):
        raise
    except Exception as exc:  # ONNX Runtime's errors for a graph that does not fit the config
        raise ArtifactError(
            f"the model fails on a synthetic {config.family} request: {exc}"
        ) from exc
    return handler


__all__ = ["HANDLERS", "Handler", "Limits", "load_handler"]
