"""The tensors both graphs are run on: the engineer's images, or synthetic ones, prepared as the
registry entry's pre-processing says (stretched to the input size, normalized, in its layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from animl_contract.preprocessing import Preprocessing
from animl_convert.errors import ConversionError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SYNTHETIC_INPUTS = 8


@dataclass(frozen=True)
class InputSpec:
    """height, width, layout and per-channel normalization of a model's one input."""

    height: int
    width: int
    layout: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def of(cls, pre: Preprocessing) -> InputSpec:
        if pre.detector is not None and pre.classifier is None:
            height, width = pre.detector.canvas
            return cls(height, width, "NCHW", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        assert pre.classifier is not None
        c = pre.classifier
        return cls(*c.input_size, c.layout, c.normalization.mean, c.normalization.std)

    def shape(self, batch: int | str) -> tuple[int | str, ...]:
        if self.layout == "NHWC":
            return (batch, self.height, self.width, 3)
        return (batch, 3, self.height, self.width)

    def tensor(self, pixels: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 pixels -> the model's float32 input."""
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        scaled = (pixels.astype(np.float32) / 255.0 - mean) / std
        if self.layout == "NCHW":
            scaled = scaled.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(scaled, dtype=np.float32)


def image_files(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise ConversionError(f"{what} folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConversionError(f"{what} folder {folder} holds no .jpg, .jpeg or .png image")
    return files


def load_images(folder: Path, spec: InputSpec, what: str) -> np.ndarray:
    """Every image of the folder, or an error naming the first that does not decode."""
    pixels = []
    for path in image_files(folder, what):
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB").resize(
                    (spec.width, spec.height), Image.Resampling.BILINEAR
                )
        except (UnidentifiedImageError, OSError) as error:
            raise ConversionError(
                f"{what} image {path} does not decode ({error}); remove or replace it"
            ) from error
        pixels.append(np.asarray(rgb))
    return spec.tensor(np.stack(pixels))


def synthetic_images(spec: InputSpec, count: int = SYNTHETIC_INPUTS, seed: int = 0) -> np.ndarray:
    """Smooth gradients with blobs and noise: varied enough to move every output."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : spec.height, 0 : spec.width].astype(np.float32)
    images = []
    for _ in range(count):
        channels = []
        for _ in range(3):
            a, b, c = rng.uniform(-1, 1, 3)
            cy, cx = rng.uniform(0, spec.height), rng.uniform(0, spec.width)
            blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * (0.15 * spec.width) ** 2))
            plane = 128 + 60 * (a * x / spec.width + b * y / spec.height) + 90 * c * blob
            channels.append(plane + rng.normal(0, 12, plane.shape))
        images.append(np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8))
    return spec.tensor(np.stack(images))
