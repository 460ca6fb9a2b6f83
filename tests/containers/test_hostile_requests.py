"""Hostile requests against the real server on loopback: each is a 4xx with a JSON error, fast,
and the server carries on answering good requests."""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.containers.conftest import b64, jpeg

JSON = {"content-type": "application/json"}


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    if mode == "I;16":
        Image.fromarray(np.zeros((height, width), np.uint16)).save(buffer, format="PNG")
    else:
        Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def encoded(image: bytes, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(image)).save(buffer, format=fmt)
    return buffer.getvalue()


SMALL = jpeg(64, 48)
IMAGE = b64(SMALL)
TRUNCATED = b64(jpeg(256, 256)[:300])
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"

# (case, family, body, expected status, part of the error)
CASES = [
    ("JSON nested 100000 deep", "classifier", b"[" * 100_000, 400, "nests JSON deeper"),
    ("an integer of 5000 digits", "classifier", b'{"image": 1' + b"1" * 5000 + b"}", 400,
     "not valid JSON"),
    ("an integer of 400 digits in the bbox", "classifier",
     f'{{"image": "{IMAGE}", "bbox": [0, 0, 1{"0" * 400}, 1]}}'.encode(), 400, "too large"),
    ("NaN in the bbox", "classifier", f'{{"image": "{IMAGE}", "bbox": [NaN, 0, 1, 1]}}'.encode(),
     400, "finite"),
    ("Infinity in the bbox", "classifier",
     f'{{"image": "{IMAGE}", "bbox": [0, 0, Infinity, 1]}}'.encode(), 400, "finite"),
    ("NaN in a bbox string", "classifier",
     json.dumps({"image": IMAGE, "bbox": "[NaN, 0, 1, 1]"}).encode(), 400, "finite"),
    ("a truncated JPEG with a NaN box names the box", "classifier",
     f'{{"image": "{TRUNCATED}", "bbox": [NaN, 0, 1, 1]}}'.encode(), 400, "bbox"),
    ("a 16000x1 image, squared", "classifier", json.dumps({"image": b64(png(16000, 1))}).encode(),
     413, "too narrow for a square crop"),
    ("a 1x16000 image, squared", "classifier", json.dumps({"image": b64(png(1, 16000))}).encode(),
     413, "too narrow for a square crop"),
    ("a 65500x1 image, squared", "classifier", json.dumps({"image": b64(png(65500, 1))}).encode(),
     413, "too narrow for a square crop"),
    ("a 16000x1 image, letterboxed", "detector", png(16000, 1), 400, "less than a pixel"),
    ("a 1x16000 image, letterboxed", "detector", png(1, 16000), 400, "less than a pixel"),
    ("a 65500x1 image, letterboxed", "detector", png(65500, 1), 400, "less than a pixel"),
    ("EPS", "detector", EPS, 415, "accepted format (JPEG, PNG)"),
    ("GIF", "detector", encoded(SMALL, "GIF"), 415, "accepted format (JPEG, PNG)"),
    ("TIFF", "detector", encoded(SMALL, "TIFF"), 415, "accepted format (JPEG, PNG)"),
    ("BMP in a classifier request", "classifier",
     json.dumps({"image": b64(encoded(SMALL, "BMP"))}).encode(), 415, "accepted format"),
    ("an integer country", "speciesnet",
     json.dumps({"image_data": IMAGE, "components": "all", "country": 10**50}).encode(), 400,
     "ISO 3166-1 alpha-3"),
    ("NaN in a SpeciesNet bbox", "speciesnet",
     b'{"image_data": "' + IMAGE.encode() + b'", "bbox": [0, 0, NaN, 1], "components": "all"}',
     400, "finite"),
]  # fmt: skip


@pytest.fixture(scope="module")
def urls(classifier_url, detector_url, speciesnet_url) -> dict[str, str]:
    return {"classifier": classifier_url, "detector": detector_url, "speciesnet": speciesnet_url}


@pytest.mark.parametrize(
    ("family", "body", "status", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_hostile_request_is_a_fast_4xx_with_a_json_error(urls, family, body, status, message):
    headers = JSON if family != "detector" else {}
    started = time.perf_counter()
    response = httpx.post(f"{urls[family]}/invocations", content=body, headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    assert (response.status_code, message in response.json()["error"]) == (status, True), (
        response.text
    )
    assert elapsed < 5, elapsed


def test_a_16_bit_100_megapixel_png_is_decoded_within_the_pixel_limit_and_answered(urls):
    body = png(10000, 10000, "I;16")  # 194 KB that decodes to 200 MB
    response = httpx.post(f"{urls['detector']}/invocations", content=body, timeout=60)
    assert response.status_code == 200
    good = httpx.post(f"{urls['detector']}/invocations", content=SMALL, timeout=60)
    assert good.status_code == 200
