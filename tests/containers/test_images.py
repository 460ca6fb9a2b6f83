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


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90 degrees clockwise
    data = encode(Image.new("RGB", (40, 20), (255, 0, 0)), "JPEG", exif=exif)
    assert decode_image(data, LIMIT).size == (20, 40)


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
    decoded = decode_image(encode(image, fmt), LIMIT)
    assert decoded.mode == "RGB"
    assert decoded.size == (8, 8)


def test_16_bit_grayscale_is_scaled_not_clipped():
    pixels = np.full((4, 4), 32768, dtype=np.uint16)
    decoded = decode_image(encode(Image.fromarray(pixels), "PNG"), LIMIT)
    assert decoded.mode == "RGB"
    assert np.asarray(decoded)[0, 0].tolist() == [127, 127, 127]


def test_transparent_pixels_become_black():
    decoded = decode_image(encode(Image.new("RGBA", (2, 2), (255, 255, 255, 0)), "PNG"), LIMIT)
    assert np.asarray(decoded)[0, 0].tolist() == [0, 0, 0]


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
        decode_image(_png_header(30000, 30000), LIMIT)
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the image is empty"),
        (b"this is not an image", "not an image that can be decoded"),
        (encode(Image.new("RGB", (64, 64)), "JPEG")[:200], "could not be decoded"),
    ],
)
def test_bad_image_bytes_are_client_errors(data, message):
    with pytest.raises(ClientError, match=message):
        decode_image(data, LIMIT)


@pytest.mark.parametrize("text", ["not base64!!", "", 42, None])
def test_bad_base64_is_a_client_error(text):
    with pytest.raises(ClientError, match="image"):
        decode_base64(text, "image")


def test_a_jpeg_is_decoded_no_larger_than_the_model_needs():
    data = encode(Image.new("RGB", (2048, 1536), (90, 90, 90)), "JPEG")
    assert decode_image(data, LIMIT, scale=lambda size: 0.25).size == (512, 384)
    assert decode_image(data, LIMIT, scale=lambda size: 0.3).size == (1024, 768)
    assert decode_image(data, LIMIT, scale=lambda size: 0.9).size == (2048, 1536)


def test_draft_decoding_sees_the_upright_size_of_a_rotated_jpeg():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.new("RGB", (1536, 2048), (90, 90, 90)), "JPEG", exif=exif)
    seen = []
    decoded = decode_image(data, LIMIT, scale=lambda size: seen.append(size) or 0.25)
    assert seen == [(2048, 1536)]
    assert decoded.size == (512, 384)


def test_other_formats_are_decoded_at_full_size():
    data = encode(Image.new("RGB", (800, 600)), "PNG")
    assert decode_image(data, LIMIT, scale=lambda size: 0.125).size == (800, 600)
