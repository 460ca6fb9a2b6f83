"""What every handler shares: limits, request parsing and tensor layout."""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from animl_contract.artifact import ArtifactConfig
from animl_contract.preprocessing import ClassifierSettings
from animl_serve import geometry
from animl_serve.backend import Backend
from animl_serve.errors import ArtifactError, ClientError
from animl_serve.images import decode_image


@dataclass(frozen=True)
class Limits:
    max_image_pixels: int


class Handler(ABC):
    """Turns one request body into the JSON-able response the Animl API expects."""

    #: Content types this handler takes besides a missing one and application/octet-stream.
    content_types: frozenset[str]

    def __init__(
        self,
        config: ArtifactConfig,
        backend: Backend,
        limits: Limits,
        detector: Backend | None = None,
        model_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.limits = limits
        self.detector = detector
        self.model_dir = model_dir
        self.setup()

    def setup(self) -> None:  # noqa: B027 - a hook most families leave empty
        """Reads whatever else the family needs from the artifact; raises ArtifactError."""

    @abstractmethod
    def predict(self, body: bytes) -> Any:
        """Raises ClientError for a bad request, ArtifactError when the model misbehaves."""

    @abstractmethod
    def synthetic_request(self) -> bytes:
        """A valid request on a synthetic image, used to check an artifact before serving."""

    def accepts(self, content_type: str) -> bool:
        return (
            content_type in ("", "application/octet-stream") or content_type in self.content_types
        )

    def decode(self, data: bytes) -> Image.Image:
        return decode_image(
            data,
            self.limits.max_image_pixels,
            self.config.preprocessing.exif_orientation == "apply",
        )


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise ClientError("the body nests JSON deeper than the parser allows") from exc
    except ValueError as exc:  # also UnicodeDecodeError, and integers of thousands of digits
        raise ClientError(f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise ClientError("the body must be a JSON object")
    return data


def crop_and_resize(
    image: Image.Image,
    box: geometry.Box,
    settings: ClassifierSettings,
    xywh: tuple[float, float, float, float] | None = None,
) -> Image.Image:
    """The classifier's view of the box: cropped and resized by the model's declared rules.
    xywh is the box as [x, y, width, height] numbers where the caller has them unrounded."""
    if settings.crop == "square":
        crop = geometry.square_crop(image, box)
    elif settings.crop == "buffered":
        crop = geometry.buffered_crop(image, box, settings.crop_buffer)
    else:
        xmin, ymin, xmax, ymax = box
        crop = geometry.box_crop(image, xywh or (xmin, ymin, xmax - xmin, ymax - ymin))
    height, width = settings.input_size
    if settings.resize_filter == "tf-bilinear":
        return geometry.resize_bilinear_tf(crop, (width, height))
    resample = geometry.PIL_FILTERS[settings.resize_filter]
    if settings.resize == "shorter-side-then-center-crop":
        return geometry.resize_shorter_then_center_crop(crop, settings.input_size, resample)
    return crop.resize((width, height), resample)


def to_batch(image: Image.Image, settings: ClassifierSettings) -> np.ndarray:
    """A one-image float32 batch: pixels / 255, normalized, laid out as the model wants."""
    pixels: np.ndarray = np.asarray(image, dtype=np.float32) / 255.0
    norm = settings.normalization
    pixels = (pixels - np.asarray(norm.mean, np.float32)) / np.asarray(norm.std, np.float32)
    if settings.layout == "NCHW":
        pixels = pixels.transpose(2, 0, 1)
    return np.ascontiguousarray(pixels[None])


def class_scores(output: np.ndarray, config: ArtifactConfig) -> np.ndarray:
    """The model's scores for one image as probabilities, one per label."""
    assert config.preprocessing.classifier is not None
    scores = np.asarray(output, dtype=np.float64).reshape(-1)
    if scores.size != len(config.labels):
        raise ArtifactError(
            f"the model returns {scores.size} scores but animl-model.json lists "
            f"{len(config.labels)} labels"
        )
    if config.preprocessing.classifier.output == "logits":
        exp = np.exp(scores - scores.max())
        scores = exp / exp.sum()
    return scores


def top_indices(scores: np.ndarray, top_k: int | None) -> list[int]:
    """Indices of the top_k scores, highest first (TorchServe's torch.topk)."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[: top_k or len(order)]]


def synthetic_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A deterministic, textured JPEG: enough to run a model end to end."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * 255 // width), (y * 255 // height), ((x + y) % 256)], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
