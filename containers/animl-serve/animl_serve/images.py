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
#: What the Animl API sends and its users upload: camera-trap JPEGs, and PNG. Pillow would open
#: many more (EPS through Ghostscript among them); nothing else is decoded.
ACCEPTED_FORMATS = ("JPEG", "PNG")
#: Decoded bytes per pixel by mode; a 16-bit 10000x10000 image costs far more than its file.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "RGB": 3, "RGBA": 4, "CMYK": 4, "LA": 2, "PA": 2,
                    "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4, "YCbCr": 3}  # fmt: skip
MAX_DECODED_BYTES = 512 * 1024 * 1024
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
            image: Image.Image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise ClientError(
                    f"the image is {width}x{height} pixels; the limit is {max_pixels} pixels",
                    status=413,
                )
            decoded = width * height * _BYTES_PER_PIXEL.get(image.mode, 4)
            if decoded > MAX_DECODED_BYTES:
                raise ClientError(
                    f"the {width}x{height} {image.mode} image decodes to {decoded >> 20} MB; "
                    f"the limit is {MAX_DECODED_BYTES >> 20} MB",
                    status=413,
                )
            image.load()
            if apply_exif_orientation:
                image = ImageOps.exif_transpose(image)
    except ClientError:
        raise
    except UnidentifiedImageError as exc:
        raise ClientError(
            f"the body is not an image in an accepted format ({', '.join(ACCEPTED_FORMATS)})",
            status=415,
        ) from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ClientError(f"the image could not be decoded: {exc}") from exc
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """As the handlers' image.convert('RGB') (alpha is dropped), but 16-bit images are scaled to
    8 bits instead of clipped to white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # The high byte (65535 -> 255), in integer arithmetic: no float copy of a large image.
        values = np.asarray(image)
        if values.dtype != np.uint16:  # mode I: 32-bit integers holding 16-bit values
            values = values.clip(0, 65535).astype(np.uint16)
        image = Image.fromarray((values >> 8).astype(np.uint8))
    elif image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        top = max(float(values.max()), 1.0)
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    return image.convert("RGB") if image.mode != "RGB" else image
