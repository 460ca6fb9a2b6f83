"""`mlmodel export`: the MongoDB record, and `--check` against the container serving the artifact."""

from __future__ import annotations

import json

from tests.ops.conftest import build_artifact, run_ops


def test_export_prints_the_record_with_mongo_safe_categories():
    run = run_ops("mlmodel", "export", "deepfaune-ne")
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["_id"] == "deepfaune-ne"
    assert set(record) == {"_id", "version", "description", "defaultConfThreshold", "categories"}
    assert record["defaultConfThreshold"] == 0.5
    assert len(record["categories"]) == 24
    assert {"_id": "Bird sp", "name": "Bird sp"} in record["categories"]
    assert not any("." in c["name"] or "$" in c["name"] for c in record["categories"])


def test_check_passes_when_the_served_labels_are_the_records(mirav2_artifact):
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(mirav2_artifact))
    assert run.returncode == 0, run.stderr
    assert "the record's 5 category ids equal the container's labels" in run.stderr
    assert json.loads(run.stdout)["_id"] == "mirav2"


def test_check_fails_when_the_artifact_returns_other_labels(tmp_path):
    artifact = build_artifact(
        tmp_path, "crop-classifier", "mirav2", ["bird", "fox", "lizard", "rodent", "Skunk"]
    )
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(artifact))
    assert run.returncode == 1
    assert "the container returns labels the record lacks: ['Skunk']" in run.stderr
    assert "the record has categories the container never returns: ['skunk']" in run.stderr
    assert run.stdout == ""


def test_check_on_a_missing_or_broken_artifact_says_what_to_pass(tmp_path):
    missing = run_ops("mlmodel", "export", "mirav2", "--check", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2
    assert "no such file; pass the model.tar.gz the endpoint serves" in missing.stderr
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    run = run_ops("mlmodel", "export", "mirav2", "--check", str(broken))
    assert run.returncode == 2
    assert "is not a readable model.tar.gz" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unknown_model_is_one_line_listing_the_known_ones():
    run = run_ops("mlmodel", "export", "mirav3")
    assert run.returncode == 2
    assert run.stderr.startswith("error: unknown model 'mirav3'; the registry declares: alitav3, ")
    assert run.stderr.count("\n") == 1
