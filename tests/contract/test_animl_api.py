"""The registry, the records and the runtime as the real Animl API uses them: every rule below
comes from the API's code, ported in animl_ops/animl_api.py (github:tnc-ca-geo/animl-api at
3e7f7d2), and each test names the lines it encodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from animl_emulator import sample_models as onnx_models
from animl_ops import animl_api
from animl_ops.local_runtime import invoke, serving_archive
from animl_ops.mlmodel import record_categories
from animl_ops.response_format import check_format, sample_image
from model_registry.artifact import artifact_config
from model_registry.loader import load_fleet
from model_registry.naming import parameter_name
from model_registry.schema import ModelSpec, RecordSpec
from tests.ops.conftest import build_artifact
from tests.registries import PRODUCTION_REGISTRY

FLEET = load_fleet(PRODUCTION_REGISTRY)
ANIML = next(e for e in FLEET.environments if e.name == "animl")
RECORDS = [(m, r) for m in FLEET.models.values() for r in m.records]
SERVABLE = [m for m in FLEET.models.values() if m.classes and m.preprocessing]
CROP_BOX = [0.2, 0.3, 0.7, 0.8]  # [ymin, xmin, ymax, xmax], what a MegaDetector label holds


def record_id(pair: tuple[ModelSpec, RecordSpec]) -> str:
    return pair[1].id


def test_the_api_reads_exactly_the_parameters_the_animl_environment_writes():
    """config.ts ssmNames: each missing parameter makes getConfig throw in every container."""
    written = {
        parameter_name(model.name, kind, stage)
        for model in FLEET.models_of(ANIML)
        for kind, _ in model.endpoints.items()
        for stage in ANIML.stages
    }
    required = {
        f"{name}-{stage}"
        for name in animl_api.REQUIRED_ENDPOINT_PARAMETERS
        for stage in ANIML.stages
    }
    assert written == required


@pytest.mark.parametrize("pair", RECORDS, ids=record_id)
def test_every_record_is_routed_to_its_models_endpoints(pair):
    """modelInterfaces.set(...) routes the record id; the function reads config[endpointKey],
    the key formatSSMParams makes of the parameter name (config.ts)."""
    model, record = pair
    route = animl_api.interface(record.id)
    assert route is not None, f"the API drops every message for {record.id}"
    stand_in = animl_api.Record(record.id, record.version or "", 0.5, (), ())
    declared = {kind for kind, _ in model.endpoints.items()}
    for kind in ("batch", "realtime"):
        is_batch = kind == "batch"
        if not is_batch and not route.realtime:
            with pytest.raises(animl_api.ApiThrowsError, match="does not support realtime"):
                route.call(stand_in, b"jpeg", CROP_BOX, is_batch)
            assert kind not in declared, f"{model.name} declares a {kind} endpoint nobody calls"
            continue
        key = route.call(stand_in, b"jpeg", CROP_BOX, is_batch).endpoint_key
        assert kind in declared, f"the API calls {key}, which {model.name} does not declare"
        for stage in ANIML.stages:
            assert animl_api.config_key(parameter_name(model.name, kind, stage), stage) == key


def test_megadetector_versions_choose_their_own_endpoints():
    """megadetector(): 'v1000.0.0-redwood' -> V1000_0_0_REDWOOD, 'v5.0a' -> V5A, else V5B."""
    for name in ("megadetector-v5a", "megadetector-v5b", "megadetector-v1000-0-0-redwood"):
        (record,) = FLEET.models[name].records
        call = animl_api.megadetector_call(
            animl_api.Record(record.id, record.version or "", 0.5, (), ()), b"jpeg", True
        )
        assert call.endpoint_key == animl_api.config_key(
            parameter_name(name, "batch", "prod"), "prod"
        )


@pytest.mark.parametrize("pair", RECORDS, ids=record_id)
def test_category_ids_are_unique_and_empty_where_the_api_writes_it(pair):
    """Image.ts createInternalLabels: exactly one category per label id; megadetector() and
    speciesnet() in 'all' mode write label '0' when nothing passes."""
    model, record = pair
    if not model.classes:
        pytest.skip(f"{model.name}: classes not public ({model.unverified['classes']})")
    ids = [c["_id"] for c in record_categories(model, record)]
    assert len(ids) == len(set(ids))
    writes_empty = model.family == "detector" or record.id == "speciesnet-all"
    assert (animl_api.EMPTY_LABEL in ids) == writes_empty


def _artifact(folder: Path, model: ModelSpec, nothing_found: bool = False) -> Path:
    config = artifact_config(model)
    onnx = None
    if nothing_found:
        quiet = np.zeros((1, 4, 5 + len(config.labels)), np.float32)
        onnx = onnx_models.yolov5_detector(folder / "quiet.onnx", quiet)
    return build_artifact(folder, config, onnx)


@pytest.fixture(scope="module", params=SERVABLE, ids=lambda m: m.name)
def served(request, tmp_path_factory) -> Iterator[tuple[ModelSpec, str]]:
    model = request.param
    archive = _artifact(tmp_path_factory.mktemp(model.name), model)
    with serving_archive(archive) as url:
        yield model, url


def _api_record(model: ModelSpec, record: RecordSpec) -> animl_api.Record:
    """The record as the API reads it; where its version or threshold is not public yet, a
    stand-in: label membership does not depend on them."""
    categories = record_categories(model, record)
    return animl_api.Record(
        id=record.id,
        version=record.version or "unverified",
        default_conf_threshold=record.default_confidence_threshold or 0.5,
        category_ids=tuple(c["_id"] for c in categories),
        category_names=tuple(c["name"] for c in categories),
    )


def _run(model: ModelSpec, record: RecordSpec, url: str, is_batch: bool, bbox):
    route = animl_api.interface(record.id)
    assert route is not None
    api = _api_record(model, record)
    call = route.call(api, sample_image(1024, 768), bbox, is_batch)
    status, body = invoke(url, call.body, call.content_type)
    assert status == 200, body
    answer = check_format(model.family, body)
    thresholds = animl_api.build_cat_config(api)
    everything = [replace(c, conf_threshold=0.0) for c in thresholds]
    return route.parse(api, answer, bbox, thresholds), route.parse(api, answer, bbox, everything)


def test_the_runtime_answers_every_call_the_api_makes_with_labels_of_the_record(served):
    """Every request the API sends is accepted; every label in the answer is a category of the
    record (_filterClassifierPredictions, megadetector: catConfig.find(...)! must not be
    undefined)."""
    model, url = served
    for record in model.records:
        ids = {c["_id"] for c in record_categories(model, record)}
        kinds = [k for k, _ in model.endpoints.items()]
        boxes = [CROP_BOX, None] if record.expects_crops else [None]
        for kind in kinds:
            for bbox in boxes:
                kept, every = _run(model, record, url, kind == "batch", bbox)
                assert every, (record.id, kind, bbox)
                assert {d.label_id for d in kept + every} <= ids
                for detection in every:
                    assert len(detection.bbox) == 4


@pytest.mark.parametrize("model", [m for m in SERVABLE if m.family == "detector"], ids=str)
def test_an_image_with_nothing_found_is_the_empty_category(model, tmp_path):
    """megadetector(): no detection passes -> one label '0' on [0, 0, 1, 1]."""
    (record,) = model.records
    archive = _artifact(tmp_path, model, nothing_found=True)
    with serving_archive(archive) as url:
        status, body = invoke(url, sample_image(), None)
        assert (status, json.loads(body)) == (200, [])
        kept, _ = _run(model, record, url, True, None)
    assert [(d.label_id, d.bbox) for d in kept] == [("0", [0, 0, 1, 1])]
    assert "0" in {c["_id"] for c in record_categories(model, record)}
