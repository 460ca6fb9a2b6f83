"""SpeciesNet from a release's files to answers the Animl API reads: labels and taxonomy imported
into the registry, the artifact built from it, served, and called as the API calls it."""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from animl_emulator import sample_models as onnx_models
from animl_emulator import sample_release as release
from animl_ops import animl_api
from animl_ops.local_runtime import serving_archive
from animl_ops.mlmodel import api_record
from animl_ops.response_format import check_format
from checkout import REGISTRY_DIR
from model_registry.loader import load_fleet
from tests.containers.conftest import DETECTOR_PREDICTIONS, serve_until_exit
from tests.ops.conftest import run_ops
from tests.registries import RegistryCopy

NAME = "speciesnetv401a"


def blue_animal() -> bytes:
    """A red photo with the test detector's animal box in blue (the classifier's coyote)."""
    image = Image.new("RGB", (2048, 1536), (220, 20, 20))
    image.paste((20, 20, 220), (944, 704, 1104, 832))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _fill_in_the_records(model: dict) -> None:
    for record in model["records"]:
        record.update(version="v4.0.1a", default_confidence_threshold=0.5)
    for field in ("version", "default_confidence_threshold"):
        model["unverified"].pop(field)


@pytest.fixture(scope="module")
def speciesnet(tmp_path_factory) -> Iterator[tuple[RegistryCopy, Path, str]]:
    """The registry with the test release imported, the artifact built from it, served."""
    root = tmp_path_factory.mktemp("registry") / "model_registry"
    shutil.copytree(REGISTRY_DIR, root, ignore=shutil.ignore_patterns("*.py"))
    registry = RegistryCopy(root)
    files = tmp_path_factory.mktemp("release")
    (files / "labels.txt").write_text("\n".join(release.CLASSIFIER_LABELS) + "\n")
    (files / "taxonomy_release.txt").write_text("\n".join(release.TAXONOMY) + "\n")
    _, geofence = release.write(files / "geofence")
    for args in (["labels.txt"], ["taxonomy_release.txt", "--taxonomy"]):
        run = run_ops("classes", "import", NAME, str(files / args[0]), *args[1:],
                      "--registry", str(root))  # fmt: skip
        assert run.returncode == 0, run.stderr
    registry.edit_model(NAME, _fill_in_the_records)
    classifier = onnx_models.color_classifier(
        files / "classifier.onnx", len(release.CLASSIFIER_LABELS), 480, "NHWC"
    )
    detector = onnx_models.yolov5_detector(files / "detector.onnx", DETECTOR_PREDICTIONS)
    archive = files / "model.tar.gz"
    run = run_ops("artifact", "build", NAME, "--onnx", str(classifier), "--detector",
                  str(detector), "--geofence", str(geofence), "--out", str(archive),
                  "--registry", str(root))  # fmt: skip
    assert run.returncode == 0, run.stderr
    with serving_archive(archive) as url:
        yield registry, archive, url


def test_the_artifact_passes_the_check_of_both_records(speciesnet):
    registry, archive, _ = speciesnet
    run = run_ops("mlmodel", "export", NAME, "--check", str(archive), "--registry",
                  str(registry.root))  # fmt: skip
    assert run.returncode == 0, run.stderr
    records = {r["_id"]: r for r in json.loads(run.stdout)}
    assert set(records) == {"speciesnet-classifier", "speciesnet-all"}
    classifier_ids = {c["_id"] for c in records["speciesnet-classifier"]["categories"]}
    all_ids = {c["_id"] for c in records["speciesnet-all"]["categories"]}
    # 'all' holds the roll-up labels of the taxonomy, 'no cv result' and the empty '0' too.
    assert all_ids - classifier_ids == {
        "0",
        release.CANIS.split(";")[0],
        release.CANIDAE.split(";")[0],
        release.CARNIVORA.split(";")[0],
        release.MAMMALIA.split(";")[0],
        release.AVES.split(";")[0],
        release.UNKNOWN.split(";")[0],
    }
    fox = next(c for c in records["speciesnet-all"]["categories"] if c["name"] == "red fox")
    assert fox["taxonomy"] == "mammalia;carnivora;canidae;vulpes;vulpes"


def _as_the_api(registry: RegistryCopy, url: str, record_id: str, bbox, **location):
    model = load_fleet(registry.root).models[NAME]
    record = next(r for r in model.records if r.id == record_id)
    api = api_record(model, record)
    call = animl_api.speciesnet_call(api, blue_animal(), bbox, True, **location)
    response = httpx.post(f"{url}/invocations", content=call.body, timeout=60)
    assert response.status_code == 200, response.text
    answer = check_format("speciesnet", response.content)
    return animl_api.speciesnet_parse(api, answer, bbox, animl_api.build_cat_config(api)), answer


def test_all_mode_without_a_box_rolls_a_fenced_species_up_where_the_api_finds_it(speciesnet):
    registry, _, url = speciesnet
    labels, answer = _as_the_api(
        registry, url, "speciesnet-all", None, country="GBR", admin1_region=None
    )
    prediction = answer["predictions"][0]
    # Coyotes are blocked in GBR: the top-5 roll up to the canine family.
    assert prediction["prediction"] == release.CANIDAE
    assert prediction["prediction_source"] == "classifier+geofence+rollup_to_family"
    assert prediction["country"] == "GBR"
    (label,) = labels
    assert label.label_id == release.CANIDAE.split(";")[0]
    # The API takes the first detection's box, [x, y, w, h] back to [y1, x1, y2, x2].
    assert label.bbox == pytest.approx([704 / 1536, 944 / 2048, 832 / 1536, 1104 / 2048], abs=1e-6)


def test_all_mode_where_the_species_is_allowed_answers_it(speciesnet):
    registry, _, url = speciesnet
    labels, answer = _as_the_api(
        registry, url, "speciesnet-all", None, country="USA", admin1_region="US-CA"
    )
    assert answer["predictions"][0]["admin1_region"] == "CA"
    assert [label.label_id for label in labels] == [release.COYOTE.split(";")[0]]


def test_classifier_mode_on_a_label_box_returns_the_top_five_uuids(speciesnet):
    registry, _, url = speciesnet
    box = [704 / 1536, 944 / 2048, 832 / 1536, 1104 / 2048]  # [y1, x1, y2, x2] of the label
    labels, answer = _as_the_api(registry, url, "speciesnet-classifier", box)
    assert "prediction" not in answer["predictions"][0]
    assert labels[0].label_id == release.COYOTE.split(";")[0]
    assert labels[0].conf > 0.99


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({"country": "US"}, "country 'US' must be an ISO 3166-1 alpha-3 code"),
        ({"country": "usa"}, "country 'usa' must be an ISO 3166-1 alpha-3 code"),
        ({"country": 840}, "country 840 must be an ISO 3166-1 alpha-3 code"),
        ({"admin1_region": "CA"}, "admin1_region needs a country"),
        ({"country": "USA", "admin1_region": "US-CA"}, "admin1_region 'US-CA' must be the"),
    ],
)
def test_a_location_the_package_cannot_use_is_a_400(speciesnet, location, message):
    _, _, url = speciesnet
    body = {"image_data": base64.b64encode(blue_animal()).decode(), "components": "all"}
    response = httpx.post(f"{url}/invocations", json=body | location, timeout=60)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_an_artifact_without_its_taxonomy_is_refused_naming_the_file(speciesnet, tmp_path):
    _, archive, _ = speciesnet
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    (tmp_path / "taxonomy.txt").unlink()
    result = serve_until_exit(tmp_path)
    assert result.returncode == 3
    assert f"{tmp_path / 'taxonomy.txt'} is missing" in result.stderr


RED_CORNER = [0.0, 0.0, 0.2, 0.2]  # [y1, x1, y2, x2]: all red, far from the blue animal


def test_all_mode_classifies_the_box_the_api_writes_not_the_requests(speciesnet):
    """The API writes predictions[0].prediction at detections[0].bbox: with a label's box over
    red (the classifier's red fox), the label is still the blue animal's coyote, at its box."""
    registry, _, url = speciesnet
    labels, answer = _as_the_api(
        registry, url, "speciesnet-all", RED_CORNER, country="USA", admin1_region="US-CA"
    )
    (label,) = labels
    assert label.label_id == release.COYOTE.split(";")[0]
    assert label.bbox == pytest.approx([704 / 1536, 944 / 2048, 832 / 1536, 1104 / 2048], abs=1e-6)
    assert answer["predictions"][0]["classifications"]["classes"][0] == release.COYOTE
    # The classifier on the box the label was written at agrees with the label.
    at_the_box, _ = _as_the_api(registry, url, "speciesnet-classifier", label.bbox)
    assert at_the_box[0].label_id == label.label_id


@pytest.fixture(scope="module")
def blind_speciesnet(speciesnet, tmp_path_factory) -> Iterator[str]:
    """The same release with a detector that finds nothing."""
    registry, _, _ = speciesnet
    files = tmp_path_factory.mktemp("blind")
    nothing = DETECTOR_PREDICTIONS.copy()
    nothing[..., 4] = 0.0
    detector = onnx_models.yolov5_detector(files / "detector.onnx", nothing)
    classifier = onnx_models.color_classifier(
        files / "classifier.onnx", len(release.CLASSIFIER_LABELS), 480, "NHWC"
    )
    _, geofence = release.write(files / "geofence")
    archive = files / "model.tar.gz"
    run = run_ops("artifact", "build", NAME, "--onnx", str(classifier), "--detector",
                  str(detector), "--geofence", str(geofence), "--out", str(archive),
                  "--registry", str(registry.root))  # fmt: skip
    assert run.returncode == 0, run.stderr
    with serving_archive(archive) as url:
        yield url


@pytest.mark.parametrize("bbox", [None, RED_CORNER])
def test_all_mode_without_a_detection_writes_the_empty_label(speciesnet, blind_speciesnet, bbox):
    registry, _, _ = speciesnet
    labels, answer = _as_the_api(registry, blind_speciesnet, "speciesnet-all", bbox)
    assert answer["predictions"][0]["detections"] == []
    assert [(label.label_id, label.bbox) for label in labels] == [("0", [0.0, 0.0, 1.0, 1.0])]


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ([1.2, 0.1, 0.3, 0.3], "bbox"),
        ([0.1, 0.1, 0.0, 0.3], "bbox"),
        ("not a box", "bbox"),
        ([0.1, 0.2, 0.3], "bbox"),
    ],
)
def test_a_bad_box_in_all_mode_is_a_400_naming_it(speciesnet, bbox, message):
    _, _, url = speciesnet
    body = {"image_data": base64.b64encode(blue_animal()).decode(), "components": "all"}
    response = httpx.post(f"{url}/invocations", json=body | {"bbox": bbox}, timeout=60)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
