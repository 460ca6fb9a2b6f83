"""Every handler's image path: EXIF orientation, odd modes, hostile input."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from animl_serve.errors import ClientError
from animl_serve.images import decode_base64, decode_image

LIMIT = 100_000_000


def encode(image: Image.Image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def test_exif_orientation_is_applied_only_when_asked():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    data = encode(Image.new("RGB", (40, 20), (255, 0, 0)), "JPEG", exif=exif)
    assert decode_image(data, LIMIT, apply_exif_orientation=True).size == (20, 40)
    # The original handlers never rotate: their boxes are in the stored frame.
    assert decode_image(data, LIMIT, apply_exif_orientation=False).size == (40, 20)


@pytest.mark.parametrize(
    ("image", "fmt"),
    [
        (Image.new("L", (8, 8), 128), "PNG"),
        (Image.new("RGBA", (8, 8), (10, 20, 30, 0)), "PNG"),
        (Image.new("P", (8, 8), 3), "PNG"),
        (Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"),
        (Image.new("LA", (8, 8), (50, 255)), "PNG"),
    ],
)
def test_other_modes_become_rgb(image, fmt):
    decoded = decode_image(encode(image, fmt), LIMIT, False)
    assert decoded.mode == "RGB"
    assert decoded.size == (8, 8)


def test_16_bit_grayscale_is_scaled_not_clipped():
    pixels = np.full((4, 4), 32768, dtype=np.uint16)
    decoded = decode_image(encode(Image.fromarray(pixels), "PNG"), LIMIT, False)
    assert decoded.mode == "RGB"
    assert np.asarray(decoded)[0, 0].tolist() == [128, 128, 128]  # the high byte of 32768


def test_alpha_is_dropped_as_the_handlers_convert_rgb_does():
    decoded = decode_image(
        encode(Image.new("RGBA", (2, 2), (255, 255, 255, 0)), "PNG"), LIMIT, False
    )
    assert np.asarray(decoded)[0, 0].tolist() == [255, 255, 255]


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size in a few bytes: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(
        ClientError, match="is 30000x30000 pixels; the limit is 100000000"
    ) as caught:
        decode_image(_png_header(30000, 30000), LIMIT, False)
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the image is empty"),
        (b"this is not an image", "not an image in an accepted format"),
        (encode(Image.new("RGB", (64, 64)), "JPEG")[:200], "could not be decoded"),
    ],
)
def test_bad_image_bytes_are_client_errors(data, message):
    with pytest.raises(ClientError, match=message):
        decode_image(data, LIMIT, False)


@pytest.mark.parametrize("text", ["not base64!!", "", 42, None])
def test_bad_base64_is_a_client_error(text):
    with pytest.raises(ClientError, match="image"):
        decode_base64(text, "image")


def test_a_large_jpeg_is_decoded_at_full_size_as_the_handlers_do():
    data = encode(Image.new("RGB", (2048, 1536), (90, 90, 90)), "JPEG")
    assert decode_image(data, LIMIT, False).size == (2048, 1536)
