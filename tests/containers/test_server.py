"""The runtime as SageMaker sees it: real HTTP on loopback against a plain server process."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from animl_ops.local_runtime import free_port, runtime_env
from tests.containers.conftest import (
    CLASSIFIER_LABELS,
    CONTAINER_DIR,
    SPECIESNET_LABELS,
    b64,
    jpeg,
    serve_until_exit,
    serving,
)
from tests.containers.test_images import _png_header

JSON = {"content-type": "application/json"}


def invoke(url: str, body: bytes | str, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{url}/invocations", content=body, headers=headers or {}, timeout=60)


def classifier_request(image: bytes, bbox: object = (0, 0, 1, 1)) -> str:
    return json.dumps(
        {"image": b64(image), "bbox": list(bbox) if isinstance(bbox, tuple) else bbox}
    )


def test_ping_is_ok_once_the_model_is_loaded(classifier_url):
    response = httpx.get(f"{classifier_url}/ping")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_megadetector_boxes_are_normalized_to_the_original_image(detector_url):
    response = invoke(detector_url, jpeg(2048, 1536), {"content-type": "image/jpeg"})
    assert response.status_code == 200
    animal = [944 / 2048, 704 / 1536, 1104 / 2048, 832 / 1536]
    person = [120 / 2048, 120 / 1536, 200 / 2048, 200 / 1536]
    expected = [(animal, 0.855, 1), (animal, 0.42, 3), (person, 0.4, 2)]
    got = response.json()
    assert [(d["class"]) for d in got] == [1, 3, 2]
    for detection, (box, confidence, _) in zip(got, expected, strict=True):
        assert set(detection) == {"x1", "y1", "x2", "y2", "confidence", "class"}
        assert [detection[k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx(box, abs=1e-6)
        assert detection["confidence"] == pytest.approx(confidence, abs=1e-6)


def test_a_12_megapixel_photo_gives_the_same_boxes_as_its_smaller_copy(detector_url):
    small = invoke(detector_url, jpeg(2048, 1536)).json()
    large = invoke(detector_url, jpeg(4096, 3072)).json()
    assert large == small


def test_megadetector_does_not_upscale_small_images(detector_url):
    # 1000x600 stays 1000x600 on a 1024x640 canvas, padded 12 left and 20 on top.
    response = invoke(detector_url, jpeg(1000, 600))
    first = response.json()[0]
    assert [first[k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx(
        [0.578, 0.7, 0.678, 500 / 600], abs=1e-6
    )


def test_exif_orientation_is_ignored_as_the_original_handler_does_unless_declared(
    detector_url, artifacts
):
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (1536, 2048), (90, 90, 90)).save(buffer, format="JPEG", exif=exif)
    stored = invoke(detector_url, buffer.getvalue()).json()[0]
    # Stored frame, 1536x2048: ratio 0.46875, 720x960 on a 768x960 canvas padded 24 on the left.
    assert stored["x1"] == pytest.approx((590 - 24) / 0.46875 / 1536, abs=1e-6)
    with serving(artifacts["detector-exif"]) as url:
        upright = invoke(url, buffer.getvalue()).json()[0]
    assert upright["x1"] == pytest.approx(944 / 2048, abs=1e-6)


def test_classifier_returns_every_label_as_a_probability(classifier_url):
    response = invoke(classifier_url, classifier_request(jpeg(300, 200, (220, 20, 20))), JSON)
    scores = response.json()
    assert response.status_code == 200
    assert set(scores) == set(CLASSIFIER_LABELS)
    assert next(iter(scores)) == "red thing"
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)


def test_classifier_classifies_the_crop_not_the_whole_image(classifier_url):
    image = Image.new("RGB", (200, 100), (220, 20, 20))
    image.paste((20, 220, 20), (150, 10, 190, 50))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    # [ymin, xmin, ymax, xmax] around the green square, sent as a string like the API sometimes does
    response = invoke(
        classifier_url, classifier_request(buffer.getvalue(), "[0.1, 0.75, 0.5, 0.95]"), JSON
    )
    assert next(iter(response.json())) == "green thing"


def test_classifier_takes_a_body_without_content_type_as_the_animl_api_sends_it(classifier_url):
    response = invoke(classifier_url, classifier_request(jpeg(64, 64, (20, 20, 220))))
    assert next(iter(response.json())) == "blue thing"


def test_xywh_classifier_reads_bbox_as_x_y_width_height(artifacts):
    image = Image.new("RGB", (200, 100), (220, 20, 20))
    image.paste((20, 220, 20), (150, 10, 190, 50))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with serving(artifacts["xywh-classifier"]) as url:
        response = invoke(url, classifier_request(buffer.getvalue(), [0.75, 0.1, 0.2, 0.4]), JSON)
    assert next(iter(response.json())) == "green thing"


def test_speciesnet_classifier_only_answers_the_classifications_of_the_box(speciesnet_url):
    body = {
        "image_data": b64(jpeg(640, 480, (20, 220, 20))),
        "bbox": [0.1, 0.1, 0.5, 0.5],
        "components": "classifier",
        "country": "USA",
    }
    response = invoke(speciesnet_url, json.dumps(body), JSON)
    assert response.status_code == 200
    (prediction,) = response.json()["predictions"]
    assert prediction["classifications"]["classes"][0] == SPECIESNET_LABELS[1]
    assert len(prediction["classifications"]["scores"]) == 5
    # As the package's classifier component: no detections, no ensemble, no location.
    assert set(prediction) == {"classifications", "model_version"}


def test_speciesnet_all_classifies_the_top_detection_and_ensembles(speciesnet_url):
    image = Image.new("RGB", (2048, 1536), (220, 20, 20))
    image.paste((20, 20, 220), (944, 704, 1104, 832))  # the top detection's box, in blue
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    body = {"image_data": b64(buffer.getvalue()), "bbox": [0, 0, 1, 1], "components": "all"}
    (prediction,) = invoke(speciesnet_url, json.dumps(body), JSON).json()["predictions"]
    first = prediction["detections"][0]
    assert (first["category"], first["label"]) == ("1", "animal")
    assert first["bbox"] == pytest.approx(
        [944 / 2048, 704 / 1536, 160 / 2048, 128 / 1536], abs=1e-6
    )
    # The crop is blue: the classifier's third label; over 0.8, not fenced without a country.
    assert prediction["classifications"]["classes"][0] == SPECIESNET_LABELS[2]
    assert (prediction["prediction"], prediction["prediction_source"]) == (
        SPECIESNET_LABELS[2],
        "classifier",
    )
    assert prediction["prediction_score"] == prediction["classifications"]["scores"][0]


CLASSIFIER_BAD_REQUESTS = [
    ("not JSON", b"{{{", JSON, 400, "not valid JSON"),
    ("JSON array", b"[1, 2]", JSON, 400, "must be a JSON object"),
    ("no image", json.dumps({"bbox": [0, 0, 1, 1]}), JSON, 400, "has no 'image'"),
    (
        "bad base64",
        json.dumps({"image": "@@@", "bbox": [0, 0, 1, 1]}),
        JSON,
        400,
        "not valid base64",
    ),
    ("not an image", classifier_request(b"plain text, not a JPEG"), JSON, 415, "not an image"),
    ("truncated JPEG", classifier_request(jpeg(256, 256)[:300]), JSON, 400, "could not be decoded"),
    (
        "bbox outside",
        classifier_request(jpeg(64, 64), [0, 0, 1.2, 1]),
        JSON,
        400,
        "must lie within 0..1",
    ),
    (
        "bbox inverted",
        classifier_request(jpeg(64, 64), [0.8, 0, 0.2, 1]),
        JSON,
        400,
        "empty or inverted",
    ),
    ("bbox too short", classifier_request(jpeg(64, 64), [0, 0, 1]), JSON, 400, "four numbers"),
    (
        "bbox garbage string",
        classifier_request(jpeg(64, 64), "zero,zero"),
        JSON,
        400,
        "four numbers",
    ),
    (
        "decompression bomb",
        classifier_request(_png_header(30000, 30000)),
        JSON,
        413,
        "30000x30000 pixels",
    ),
    ("over 4 MB", b"x" * (4 * 1024 * 1024 + 1), JSON, 413, "the limit is 4194304"),
    (
        "wrong content type",
        classifier_request(jpeg(64, 64)),
        {"content-type": "text/plain"},
        415,
        "'text/plain' is not accepted",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "message"),
    CLASSIFIER_BAD_REQUESTS,
    ids=[c[0] for c in CLASSIFIER_BAD_REQUESTS],
)
def test_bad_classifier_requests_get_a_4xx_json_error_and_the_server_carries_on(
    classifier_url, case, body, headers, status, message
):
    response = invoke(classifier_url, body, headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    good = invoke(classifier_url, classifier_request(jpeg(64, 64)), JSON)
    assert good.status_code == 200


DETECTOR_BAD_REQUESTS = [
    ("empty body", b"", {}, 400, "the image is empty"),
    ("not an image", b"GIF? no", {"content-type": "image/jpeg"}, 415, "not an image"),
    (
        "truncated JPEG",
        jpeg(512, 512)[:400],
        {"content-type": "image/jpeg"},
        400,
        "could not be decoded",
    ),
    ("JSON to a detector", b"{}", JSON, 415, "'application/json' is not accepted"),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "message"),
    DETECTOR_BAD_REQUESTS,
    ids=[c[0] for c in DETECTOR_BAD_REQUESTS],
)
def test_bad_detector_requests_get_a_4xx_json_error_and_the_server_carries_on(
    detector_url, case, body, headers, status, message
):
    response = invoke(detector_url, body, headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert invoke(detector_url, jpeg(320, 240)).status_code == 200


def test_speciesnet_rejects_unknown_components(speciesnet_url):
    body = {"image_data": b64(jpeg(64, 64)), "components": "everything"}
    response = invoke(speciesnet_url, json.dumps(body), JSON)
    assert response.status_code == 400
    assert "components is 'everything'" in response.json()["error"]


def test_unknown_routes_and_methods_answer_json(classifier_url):
    missing = httpx.get(f"{classifier_url}/nope")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    assert httpx.get(f"{classifier_url}/invocations").status_code == 405


def test_sixteen_parallel_requests_all_succeed(classifier_url):
    colors = [(220, 20, 20), (20, 220, 20), (20, 20, 220)]
    bodies = [classifier_request(jpeg(320, 240, colors[i % 3])) for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda body: invoke(classifier_url, body, JSON), bodies))
    assert [r.status_code for r in responses] == [200] * 16
    expected = ["red thing", "green thing", "blue thing"]
    assert [next(iter(r.json())) for r in responses] == [expected[i % 3] for i in range(16)]


def test_ping_answers_while_an_inference_is_running(artifacts) -> None:
    with serving(artifacts["slow"], ANIML_INTRA_OP_THREADS="1") as url:
        finished: dict[str, float] = {}

        def slow_inference() -> None:
            response = invoke(url, classifier_request(jpeg(32, 32)), JSON)
            assert response.status_code == 200
            finished["inference"] = time.monotonic()

        worker = threading.Thread(target=slow_inference)
        worker.start()
        time.sleep(0.3)  # the request is now being computed (it takes about two seconds)
        ping = httpx.get(f"{url}/ping", timeout=5)
        finished["ping"] = time.monotonic()
        worker.join()
    assert ping.status_code == 200
    assert finished["ping"] < finished["inference"]


def test_a_broken_artifact_stops_the_server_with_a_clear_reason(tmp_path):
    (tmp_path / "animl-model.json").write_text('{"family": "detector"}')
    result = serve_until_exit(tmp_path)
    assert result.returncode == 3
    assert "cannot serve the model in" in result.stderr
    assert "animl-model.json: labels: required field is missing" in result.stderr


def test_a_setting_under_which_the_model_cannot_run_stops_the_server(artifacts):
    result = serve_until_exit(artifacts["classifier"], ANIML_MAX_IMAGE_PIXELS="1")
    assert result.returncode == 3
    assert "cannot serve the model in" in result.stderr
    assert "the limit is 1 pixels" in result.stderr


def test_serve_is_the_only_command():
    result = subprocess.run(
        [sys.executable, "-m", "animl_serve", "train"],
        cwd=CONTAINER_DIR,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stderr.strip()) == (2, "usage: python -m animl_serve serve")


def test_malformed_http_gets_a_json_error(classifier_url):
    host, port = classifier_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"NOT A REQUEST LINE\r\n\r\n")
        chunks = []
        while chunk := connection.recv(4096):
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    head, body = answer.split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 400")
    assert "content-type: application/json" in head.lower()
    assert json.loads(body)["error"].startswith("malformed HTTP request")


def test_a_client_that_disconnects_is_an_info_line_not_a_traceback(artifacts, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "animl_serve", "serve"],
            env=runtime_env(artifacts["classifier"], port),
            cwd=CONTAINER_DIR, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/ping").status_code == 200:
                    break
            time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100000\r\n\r\n{"image": "'
            )
        time.sleep(1)
        assert httpx.get(f"{url}/ping").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text()
    assert "the client disconnected before sending the whole body" in text
    assert "Traceback" not in text
