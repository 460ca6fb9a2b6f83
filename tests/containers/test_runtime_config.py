"""The artifact's model config, the CPU count from cgroups, and the environment settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animl_contract.artifact import ArtifactConfigError, parse_artifact_config
from animl_contract.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from animl_serve.cpu import usable_cpus
from animl_serve.errors import ArtifactError
from animl_serve.model_config import load_model_config
from animl_serve.settings import SettingsError, load_settings

CLASSIFIER = {"input_size": 182, "normalization": "imagenet"}


def config(family="crop-classifier", labels=("Bird sp.", "$fox", "deer"), **pre):
    return {
        "name": "m",
        "version": "1",
        "family": family,
        "labels": list(labels),
        "preprocessing": pre or {"classifier": CLASSIFIER},
    }


def test_labels_are_kept_exactly_as_the_model_answers_them():
    parsed = parse_artifact_config(config())
    assert parsed.labels == ("Bird sp.", "$fox", "deer")
    classifier = parsed.preprocessing.classifier
    assert classifier.input_size == (182, 182)
    assert (classifier.normalization.mean, classifier.normalization.std) == (
        IMAGENET_MEAN,
        IMAGENET_STD,
    )
    assert (classifier.layout, classifier.bbox_format, classifier.output) == (
        "NCHW",
        "yxyx",
        "logits",
    )
    assert (classifier.crop, classifier.resize, classifier.top_k) == ("square", "stretch", 5)
    assert parsed.preprocessing.exif_orientation == "ignore"


def test_speciesnet_labels_must_be_in_speciesnet_form():
    speciesnet = config(
        "speciesnet", ["u1;mammalia;;;;;mammal"], classifier=CLASSIFIER | {"layout": "NHWC"}
    )
    assert parse_artifact_config(speciesnet).labels == ("u1;mammalia;;;;;mammal",)
    with pytest.raises(ArtifactConfigError, match="is not a SpeciesNet label"):
        parse_artifact_config(speciesnet | {"labels": ["fox"]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "Input should be a valid dictionary"),
        (config() | {"family": "segmenter"}, "family: 'segmenter'"),
        (config(classifier=CLASSIFIER | {"input_size": 2}), "input_size.0: 2"),
        (config(labels=()), "labels: .*at least 1 item"),
        (config(labels=("a", "a")), r"duplicate labels \['a'\]"),
        (config(classifier=CLASSIFIER | {"layout": "CHW"}), "layout: 'CHW'"),
        (config("detector", ("1",), detector={"iou_threshold": 2}), "iou_threshold: 2"),
        (config("detector", ("animal",), detector={}), "class numbers it answers"),
        (config("detector", ("1",)), "a detector needs preprocessing.detector"),
        (
            config(
                classifier=CLASSIFIER | {"normalization": {"mean": [0, 0, 0], "std": [0, 1, 1]}}
            ),
            "std.0: 0",
        ),
        (config(classifier=CLASSIFIER | {"crop_buffer": 0.1}), "crop_buffer applies only"),
        (config(classifier=CLASSIFIER | {"colour": "red"}), "colour: unknown key"),
    ],
)
def test_bad_model_configs_say_what_is_wrong(data, message):
    with pytest.raises(ArtifactConfigError, match=message):
        parse_artifact_config(data)


def test_missing_or_broken_config_file(tmp_path: Path):
    with pytest.raises(ArtifactError, match=r"animl-model\.json is missing"):
        load_model_config(tmp_path)
    (tmp_path / "animl-model.json").write_text("{nope")
    with pytest.raises(ArtifactError, match="is not valid JSON"):
        load_model_config(tmp_path)
    (tmp_path / "animl-model.json").write_text(json.dumps(config(labels=["a"]) | {"x": 1}))
    with pytest.raises(ArtifactError, match=r"animl-model\.json: x: unknown key"):
        load_model_config(tmp_path)
    (tmp_path / "animl-model.json").write_text(json.dumps(config("detector", ["1"], detector={})))
    assert load_model_config(tmp_path).family == "detector"


def test_cgroup_v2_quota_caps_the_threads(tmp_path: Path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cpus(tmp_path) == min(2, usable_cpus(tmp_path / "none"))


def test_cgroup_v1_quota_caps_the_threads(tmp_path: Path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert usable_cpus(tmp_path) == 1


def test_no_quota_means_the_affinity_mask(tmp_path: Path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(tmp_path) >= 1
    assert usable_cpus(tmp_path) == usable_cpus(tmp_path / "none")


def test_settings_come_from_the_environment():
    settings = load_settings(
        {
            "ANIML_INTRA_OP_THREADS": "3",
            "SAGEMAKER_BIND_TO_PORT": "9090",
            "ANIML_GRAPH_OPTIMIZATION": "extended",
        }
    )
    assert (settings.intra_op_threads, settings.port, settings.graph_optimization) == (
        3,
        9090,
        "extended",
    )
    defaults = load_settings({})
    assert (defaults.port, defaults.model_dir, defaults.max_body_bytes) == (
        8080,
        Path("/opt/ml/model"),
        4 * 1024 * 1024,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANIML_INTRA_OP_THREADS": "many"}, "ANIML_INTRA_OP_THREADS='many' is not an integer"),
        ({"ANIML_INTRA_OP_THREADS": "0"}, "ANIML_INTRA_OP_THREADS=0 must be 1..256"),
        ({"ANIML_GRAPH_OPTIMIZATION": "max"}, "ANIML_GRAPH_OPTIMIZATION='max' must be one of"),
    ],
)
def test_bad_settings_are_refused(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env)
