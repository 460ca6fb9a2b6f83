"""The tensors both graphs are run on and INT8 is calibrated on: the engineer's images, or
photo-like synthetic ones, each prepared by the runtime's own pre-processing as the registry entry
declares it, so that the converter sees what the endpoint will feed the model."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, UnidentifiedImageError

from animl_contract.preprocessing import Preprocessing
from animl_convert.errors import ConversionError
from animl_serve import geometry
from animl_serve.handlers.base import crop_and_resize, to_batch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SYNTHETIC_INPUTS = 8


@dataclass(frozen=True)
class InputSpec:
    """The shape of a model's one input: height, width and layout."""

    height: int
    width: int
    layout: str

    @classmethod
    def of(cls, pre: Preprocessing) -> InputSpec:
        if pre.classifier is None:
            assert pre.detector is not None
            return cls(*pre.detector.canvas, "NCHW")
        return cls(*pre.classifier.input_size, pre.classifier.layout)

    def shape(self, batch: int | str) -> tuple[int | str, ...]:
        if self.layout == "NHWC":
            return (batch, self.height, self.width, 3)
        return (batch, 3, self.height, self.width)


def image_files(folder: Path, what: str) -> list[Path]:
    if not folder.is_dir():
        raise ConversionError(f"{what} folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConversionError(f"{what} folder {folder} holds no .jpg, .jpeg or .png image")
    return files


def prepared(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """One image as the endpoint feeds it to the model: the runtime's own pre-processing (crop
    rule, resize order and filter, normalization, layout; a detector's letterbox), for a request
    on the whole image. A batch of one."""
    rgb = image.convert("RGB")
    if pre.classifier is not None:
        whole: geometry.Box = (0.0, 0.0, 1.0, 1.0)
        return to_batch(crop_and_resize(rgb, whole, pre.classifier), pre.classifier)
    assert pre.detector is not None
    d = pre.detector
    plan = geometry.plan_letterbox(*rgb.size, d.canvas, d.stride, fixed=True, scale_up=d.scale_up)
    pixels = geometry.letterbox(rgb, plan, d.resize_filter).astype(np.float32) / 255.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def load_images(folder: Path, pre: Preprocessing, what: str) -> np.ndarray:
    """Every image of the folder, prepared as the endpoint prepares it; or an error naming the
    first that does not decode."""
    batches = []
    for path in image_files(folder, what):
        try:
            with Image.open(path) as image:
                batches.append(prepared(image, pre))
        except (UnidentifiedImageError, OSError) as error:
            raise ConversionError(
                f"{what} image {path} does not decode ({error}); remove or replace it"
            ) from error
    return np.concatenate(batches)


#: Photo-like sizes: landscape and portrait camera-trap frames, a panorama, a square.
SYNTHETIC_SIZES = ((1024, 768), (768, 1024), (1280, 720), (800, 800))


def _texture(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise, as natural images have: detail at every scale, more of it coarse."""
    small = (max(width // 4, 1), max(height // 4, 1))
    field = np.zeros((small[1], small[0], 3), np.float32)
    for octave in range(1, 8):
        cells = rng.normal(0, 1, (2**octave, 2**octave, 3)).astype(np.float32)
        layer = [np.asarray(Image.fromarray(cells[..., c]).resize(small, Image.Resampling.BICUBIC))
                 for c in range(3)]  # fmt: skip
        field += np.stack(layer, axis=-1) / 1.35**octave
    coarse = Image.fromarray(np.clip(128 + 40 * field, 0, 255).astype(np.uint8))
    return np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.float32)


def photo_like(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A textured background, textured shapes with hard edges in other colours, sensor noise and
    a JPEG round trip: what a camera trap sends, not noise or flat colour."""
    background = _texture(width, height, rng)
    mask = Image.new("L", (width, height))
    draw = ImageDraw.Draw(mask)
    for _ in range(rng.integers(3, 8)):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=255)
    tint = rng.uniform(0.4, 1.6, 3).astype(np.float32)
    shapes = _texture(width, height, rng) * tint
    inside = np.asarray(mask, np.float32)[..., None] / 255.0
    pixels = background * (1 - inside) + shapes * inside + rng.normal(0, 4, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=88)
    return Image.open(io.BytesIO(buffer.getvalue()))


def synthetic_images(
    pre: Preprocessing, count: int = SYNTHETIC_INPUTS, seed: int = 0
) -> np.ndarray:
    """Photo-like images of several sizes, prepared as the endpoint prepares them."""
    rng = np.random.default_rng(seed)
    sizes = [SYNTHETIC_SIZES[i % len(SYNTHETIC_SIZES)] for i in range(count)]
    return np.concatenate([prepared(photo_like(w, h, rng), pre) for w, h in sizes])
