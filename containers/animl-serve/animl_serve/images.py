"""Decoding request images into upright 8-bit RGB, with limits against hostile input."""

from __future__ import annotations

import base64
import binascii
import io
import math
import warnings
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from animl_serve.errors import ClientError

# Pillow's own bomb check triggers at 2x its limit; ours is explicit and applied before decoding.
Image.MAX_IMAGE_PIXELS = None

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}

#: Given the upright (width, height), the factor (at most 1) by which the image may be shrunk
#: without the model losing detail.
ScaleHint = Callable[[tuple[int, int]], float]


def decode_base64(text: object, field: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise ClientError(f"{field} must be a non-empty base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ClientError(f"{field} is not valid base64: {exc}") from exc


def _draft(image: Image.Image, scale: ScaleHint) -> None:
    """Lets libjpeg decode a JPEG at 1/2, 1/4 or 1/8 scale when the model needs no more pixels."""
    width, height = image.size
    quarter_turn = image.getexif().get(_EXIF_ORIENTATION) in _QUARTER_TURNS
    factor = scale((height, width) if quarter_turn else (width, height))
    if factor <= 0.5:
        image.draft("RGB", (math.ceil(width * factor), math.ceil(height * factor)))


def decode_image(data: bytes, max_pixels: int, scale: ScaleHint | None = None) -> Image.Image:
    """Returns the image as RGB, rotated as its EXIF orientation says, never smaller than `scale`
    allows."""
    if not data:
        raise ClientError("the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ClientError(
                    f"the image is {width}x{height} pixels; the limit is {max_pixels} pixels",
                    status=413,
                )
            if scale is not None and image.format == "JPEG":
                _draft(image, scale)
            image.load()
            image = ImageOps.exif_transpose(image)
    except ClientError:
        raise
    except UnidentifiedImageError as exc:
        raise ClientError("the body is not an image that can be decoded (JPEG, PNG, ...)") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ClientError(f"the image could not be decoded: {exc}") from exc
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Grayscale, palette, alpha, CMYK and 16-bit images become 8-bit RGB."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else max(float(values.max()), 1.0)
        values = np.clip(values / top * 255.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(values, mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB") if image.mode != "RGB" else image
