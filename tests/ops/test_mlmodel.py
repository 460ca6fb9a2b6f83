"""`mlmodel export`: the MongoDB records, and `--check` of an artifact against the registry and
the Animl API's reading of its answers."""

from __future__ import annotations

import json

from animl_emulator import sample_models as onnx_models
from model_registry.artifact import artifact_config, read_artifact_config
from tests.ops.conftest import registry_artifact, run_ops
from tests.registries import fixture_fleet

#: animl-api src/api/db/schemas/MLModel.ts: the required fields of a record and of a category.
RECORD_FIELDS = {"_id", "version", "defaultConfThreshold", "categories", "expectsCrops"}
CATEGORY_FIELDS = {"_id", "name", "color"}


def exported(*args: str) -> list[dict]:
    run = run_ops("mlmodel", "export", *args)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def assert_passes_the_schema(record: dict) -> None:
    assert set(record) >= RECORD_FIELDS
    assert isinstance(record["expectsCrops"], bool)
    for category in record["categories"]:
        assert set(category) >= CATEGORY_FIELDS
        assert category["color"].startswith("#")


def test_megadetector_record_is_seeddb_with_the_empty_category():
    (record,) = exported("megadetector-v5a")
    assert_passes_the_schema(record)
    assert (record["_id"], record["version"], record["defaultConfThreshold"]) == (
        "megadetector_v5a",
        "v5.0a",
        0.25,
    )
    assert record["expectsCrops"] is False
    assert record["categories"] == [
        {"_id": "0", "name": "empty", "color": "#8D8D8D"},
        {"_id": "1", "name": "animal", "color": "#00A2C7"},
        {"_id": "2", "name": "person", "color": "#86EAD4"},
        {"_id": "3", "name": "vehicle", "color": "#F76B15"},
    ]


def test_nzdoc_record_has_all_52_classes_in_the_models_order():
    (record,) = exported("nzdoc")
    assert_passes_the_schema(record)
    assert (record["_id"], record["version"], record["defaultConfThreshold"]) == (
        "nzdoc",
        "v1.0",
        0.4,
    )
    ids = [c["_id"] for c in record["categories"]]
    assert len(ids) == 52
    assert ids[:3] == ["bellbird", "bird_sp", "blackbird"]
    assert ids[-1] == "yellowhammer"


def test_a_label_with_a_dot_keeps_it_in_the_id_and_loses_it_in_the_name(registry):
    registry.edit_model(
        "deepfaune-ne",
        lambda m: (
            m["records"][0].update(version="v1.0", default_confidence_threshold=0.5)
            or m["unverified"].pop("version")
            or m["unverified"].pop("default_confidence_threshold")
        ),
    )
    (record,) = exported("deepfaune-ne", "--registry", str(registry.root))
    assert_passes_the_schema(record)
    assert {"_id": "Bird sp.", "name": "Bird sp", "color": "#E54D2E"} in record["categories"]
    assert not any("." in c["name"] or "$" in c["name"] for c in record["categories"])
    # Colours not in the registry come from the API's palette, each used once.
    colors = [c["color"] for c in record["categories"]]
    assert len(set(colors)) == len(colors) == 24


def test_a_record_whose_values_are_not_public_is_refused_with_what_to_fill_in():
    run = run_ops("mlmodel", "export", "sdzwa-andesv1")
    assert run.returncode == 2
    assert run.stderr == (
        "error: record sdzwa-andesv1 of model sdzwa-andesv1 cannot be exported: fill in version "
        "(no public MLModel record; copy it from the live record); default_confidence_threshold "
        "(no public MLModel record; copy it from the live record) in "
        "model_registry/models/sdzwa-andesv1.yaml\n"
    )


def test_every_records_missing_values_are_named_at_once():
    """SpeciesNet's two records: the second's taxonomy is named before the first is fixed."""
    run = run_ops("mlmodel", "export", "speciesnetv401a")
    assert run.returncode == 2
    first, second = run.stderr.splitlines()
    assert first.startswith("error: record speciesnet-classifier of model speciesnetv401a")
    assert second.startswith("record speciesnet-all of model speciesnetv401a cannot be exported")
    assert "taxonomy (taxonomy_release.txt of v4.0.1a is not public" in second
    assert run.stdout == ""


def test_unverified_fields_are_named_on_stderr(registry):
    registry.edit_model(
        "megadetector-v1000-0-0-redwood",
        lambda m: (
            m["records"][0].update(default_confidence_threshold=0.2)
            or m["unverified"].pop("default_confidence_threshold")
        ),
    )
    run = run_ops(
        "mlmodel", "export", "megadetector-v1000-0-0-redwood", "--registry", str(registry.root)
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["_id"] == "megadetector_v1000.0.0-redwood"
    assert "unverified megadetector-v1000-0-0-redwood: colors: no public MLModel record" in (
        run.stderr
    )


def test_a_record_id_the_api_does_not_route_is_refused(registry):
    registry.edit_model("mirav2", lambda m: m["records"][0].update(id="mira-v2"))
    run = run_ops("mlmodel", "export", "mirav2", "--registry", str(registry.root))
    assert run.returncode == 2
    assert "the Animl API routes no record ['mira-v2'] (src/ml/modelInterfaces.ts)" in run.stderr


def test_check_passes_when_the_artifact_is_the_registrys(mirav2_artifact, detector_artifact):
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(mirav2_artifact))
    assert run.returncode == 0, run.stderr
    assert "mirav2: the Animl API reads the answer as labels" in run.stderr
    assert json.loads(run.stdout)[0]["_id"] == "mirav2"
    run = run_ops("mlmodel", "export", "megadetector-v5a", "--check", str(detector_artifact))
    assert run.returncode == 0, run.stderr
    assert "megadetector_v5a: the Animl API reads the answer as labels ['1', '2', '3']" in (
        run.stderr
    )


def test_check_names_both_files_when_the_artifact_disagrees(tmp_path):
    artifact = registry_artifact(
        tmp_path, "mirav2", labels=("bird", "fox", "lizard", "rodent", "Skunk")
    )
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(artifact))
    assert run.returncode == 1
    assert (
        f"mismatch mirav2: {artifact}:animl-model.json labels: registry 5, artifact 5; only in "
        "the registry ['skunk'], only in the artifact ['Skunk'] "
        "(model_registry/models/mirav2.yaml is the source of truth)"
    ) in run.stderr
    assert run.stdout == ""


def test_check_on_a_missing_or_broken_artifact_says_what_to_pass(tmp_path):
    missing = run_ops("mlmodel", "export", "mirav2", "--check", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2
    assert missing.stderr == f"error: --check {tmp_path / 'nope.tar.gz'}: no such file\n"
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(broken))
    assert run.returncode == 2
    assert "not a readable .tar.gz" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unknown_model_is_one_line_listing_the_known_ones():
    run = run_ops("mlmodel", "export", "mirav3")
    assert run.returncode == 2
    assert run.stderr.startswith(
        "error: unknown model 'mirav3' (did you mean 'mirav2'?); the registry declares: alitav3, "
    )
    assert run.stderr.count("\n") == 1


def test_artifact_build_writes_the_registrys_config_and_check_accepts_it(tmp_path):
    onnx = onnx_models.conv_classifier(tmp_path / "nzdoc.onnx", 52, (480, 480))
    out = tmp_path / "nzdoc.tar.gz"
    run = run_ops("artifact", "build", "nzdoc", "--onnx", str(onnx), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(
        f"wrote {out}: nzdoc 1.0: crop-classifier, 52 labels, fp32, inference OK"
    )
    config = read_artifact_config(out)
    assert config == artifact_config(fixture_fleet().models["nzdoc"])
    assert run_ops("mlmodel", "export", "nzdoc", "--check", str(out)).returncode == 0


def test_artifact_build_refuses_a_model_whose_outputs_are_not_its_classes(tmp_path):
    onnx = onnx_models.conv_classifier(tmp_path / "nzdoc.onnx", 16, (480, 480))
    out = tmp_path / "nzdoc.tar.gz"
    run = run_ops("artifact", "build", "nzdoc", "--onnx", str(onnx), "--out", str(out))
    assert run.returncode == 2
    assert run.stderr.startswith("error: nzdoc: the packaging tool refused: ")
    assert "the model returns 16 scores but animl-model.json lists 52 labels" in run.stderr
    assert not out.exists()
    unverified = run_ops("artifact", "build", "ircv2", "--onnx", str(onnx), "--out", str(out))
    assert unverified.stderr == (
        "error: ircv2: the packaging tool refused: model ircv2 has no classes and no "
        "preprocessing in the registry (classes: not public; import them from the model's own "
        "label file; preprocessing: the handler is not public; take it from the live endpoint's "
        "image)\n"
    )


def test_artifact_build_names_everything_missing_at_once(tmp_path):
    graph = tmp_path / "classifier.onnx"
    graph.write_bytes(b"not read: the registry is refused first")
    run = run_ops("artifact", "build", "speciesnetv401a", "--onnx", str(graph), "--detector",
                  str(graph), "--out", str(tmp_path / "model.tar.gz"))  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    for missing in ("has no classes in the registry", "needs --geofence",
                    "needs the registry's taxonomy_file"):  # fmt: skip
        assert missing in run.stderr
    assert not (tmp_path / "model.tar.gz").exists()
