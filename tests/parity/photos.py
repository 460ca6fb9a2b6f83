"""Synthetic camera-trap-like photos for parity tests: gradients, shapes and noise, in the sizes
and forms the Animl API sends (landscape, portrait, panorama, tiny, grey, EXIF-rotated)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Photo:
    name: str
    jpeg: bytes
    bbox: list[float] | str  # [ymin, xmin, ymax, xmax], as the API sends a MegaDetector box


def scene(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            60 + 80 * x / width,
            90 + 60 * y / height,
            70 + 40 * np.sin(x / max(width, 1) * 6 + y / max(height, 1) * 3),
        ],
        axis=-1,
    )
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        w, h = (
            rng.integers(width // 20 + 1, width // 3 + 2),
            rng.integers(height // 20 + 1, height // 3 + 2),
        )
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [int(v) for v in (x0, y0, x0 + w, y0 + h)]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=color)
        else:
            draw.rectangle(box, fill=color)
    image = image.filter(ImageFilter.GaussianBlur(max(1, width // 800)))
    noise = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray((np.asarray(image) + noise).clip(0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, **save)
    return buffer.getvalue()


def photos() -> list[Photo]:
    rotated = Image.Exif()
    rotated[EXIF_ORIENTATION] = 6
    return [
        Photo("640x480 centre box", _jpeg(scene(640, 480, 1)), [0.3, 0.35, 0.7, 0.65]),
        Photo("2048x1536 box on the left edge", _jpeg(scene(2048, 1536, 2)), [0.2, 0.0, 0.6, 0.3]),
        Photo("4000x3000 tiny box", _jpeg(scene(4000, 3000, 3)), [0.5, 0.5, 0.512, 0.52]),
        Photo("4000x3000 whole image", _jpeg(scene(4000, 3000, 4)), [0, 0, 1, 1]),
        Photo("3000x4000 portrait, tall box at the bottom", _jpeg(scene(3000, 4000, 5)), [0.55, 0.4, 1.0, 0.6]),
        Photo("6000x1500 panorama, box at the right edge", _jpeg(scene(6000, 1500, 6)), [0.1, 0.8, 0.9, 1.0]),
        Photo("1280x960 top-right corner", _jpeg(scene(1280, 960, 7)), [0.0, 0.7, 0.35, 1.0]),
        Photo("300x200 small photo", _jpeg(scene(300, 200, 8)), [0.25, 0.25, 0.75, 0.75]),
        Photo("4000x3000 EXIF-rotated", _jpeg(scene(4000, 3000, 9), exif=rotated), [0.1, 0.1, 0.5, 0.4]),
        Photo("1600x1200 greyscale", _jpeg(scene(1600, 1200, 10).convert("L")), [0.2, 0.3, 0.9, 0.5]),
        Photo("1920x1080 bbox as a string", _jpeg(scene(1920, 1080, 11)), "[0.1, 0.2, 0.5, 0.6]"),
        Photo("800x600 box to the bottom-right corner", _jpeg(scene(800, 600, 12)), [0.6, 0.7, 1.0, 1.0]),
        Photo("2592x1944 thin tall box", _jpeg(scene(2592, 1944, 13)), [0.05, 0.48, 0.95, 0.52]),
    ]  # fmt: skip
