"""The artifact's model config, the CPU count from cgroups, and the environment settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from animl_serve.cpu import usable_cpus
from animl_serve.errors import ArtifactError
from animl_serve.model_config import IMAGENET_MEAN, load_model_config, parse_model_config
from animl_serve.settings import SettingsError, load_settings


def test_classifier_defaults_and_mongodb_safe_labels():
    config = parse_model_config(
        {"family": "crop-classifier", "input_size": 182, "classes": ["Bird sp.", "$fox", "deer"]}
    )
    assert config.labels == ["Bird sp", "fox", "deer"]
    assert config.input_size == (182, 182)
    assert config.mean == IMAGENET_MEAN
    assert (config.layout, config.bbox_format, config.output) == ("NCHW", "yxyx", "logits")


def test_speciesnet_defaults_are_channels_last_xywh_and_unnormalized():
    config = parse_model_config({"family": "speciesnet", "input_size": 480, "classes": ["a"]})
    assert (config.layout, config.bbox_format, config.mean, config.std) == (
        "NHWC",
        "xywh",
        (0.0,) * 3,
        (1.0,) * 3,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must hold a JSON object"),
        ({"family": "segmenter", "input_size": 1, "classes": ["a"]}, "family is 'segmenter'"),
        ({"family": "detector", "input_size": 2, "classes": ["a"]}, "input_size must be"),
        (
            {"family": "detector", "input_size": 640, "classes": []},
            "classes must be a non-empty list",
        ),
        (
            {"family": "detector", "input_size": 640, "classes": ["a.", "a"]},
            "not unique once made MongoDB-safe",
        ),
        (
            {"family": "detector", "input_size": 640, "classes": ["a"], "layout": "CHW"},
            "layout is 'CHW'",
        ),
        (
            {"family": "detector", "input_size": 640, "classes": ["a"], "thresholds": {"iou": 2}},
            "iou is 2",
        ),
        (
            {
                "family": "crop-classifier",
                "input_size": 64,
                "classes": ["a"],
                "normalization": {"std": [0, 1, 1]},
            },
            "three positive stds",
        ),
    ],
)
def test_bad_model_configs_say_what_is_wrong(data, message):
    with pytest.raises(ArtifactError, match=message):
        parse_model_config(data)


def test_missing_or_broken_config_file(tmp_path: Path):
    with pytest.raises(ArtifactError, match=r"animl-model\.json is missing"):
        load_model_config(tmp_path)
    (tmp_path / "animl-model.json").write_text("{nope")
    with pytest.raises(ArtifactError, match="is not valid JSON"):
        load_model_config(tmp_path)
    (tmp_path / "animl-model.json").write_text(
        json.dumps({"family": "detector", "input_size": 64, "classes": ["a"]})
    )
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
