"""Decoding request images into 8-bit RGB, with limits against hostile input."""

from __future__ import annotations

import base64
import binascii
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from animl_serve.errors import ClientError

# Pillow's own bomb check triggers at 2x its limit; ours is explicit and applied before decoding.
Image.MAX_IMAGE_PIXELS = None

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def decode_base64(text: object, field: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise ClientError(f"{field} must be a non-empty base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ClientError(f"{field} is not valid base64: {exc}") from exc


def decode_image(data: bytes, max_pixels: int, apply_exif_orientation: bool) -> Image.Image:
    """The image as RGB; turned upright as its EXIF orientation says only when asked, since the
    original handlers never did and their boxes are in the stored frame."""
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
            image.load()
            if apply_exif_orientation:
                image = ImageOps.exif_transpose(image)
    except ClientError:
        raise
    except UnidentifiedImageError as exc:
        raise ClientError("the body is not an image that can be decoded (JPEG, PNG, ...)") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ClientError(f"the image could not be decoded: {exc}") from exc
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """As the handlers' image.convert('RGB') (alpha is dropped), but 16-bit images are scaled to
    8 bits instead of clipped to white."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else max(float(values.max()), 1.0)
        values = np.clip(values / top * 255.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(values, mode="L")
    return image.convert("RGB") if image.mode != "RGB" else image
