"""A Keras model (.keras) and a TensorFlow SavedModel, as ircv2 is served today, converted with the
real command and kept in their own NHWC layout, which the registry declares."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip(
    "tensorflow", reason="the converters' TensorFlow is not installed (make setup-convert)"
)

from animl_contract.conversion import FP32_MAX_PROBABILITY_DIFF, ConversionReport  # noqa: E402
from animl_convert.sources import load_source  # noqa: E402
from model_registry.artifact import artifact_config  # noqa: E402
from model_registry.loader import load_fleet  # noqa: E402
from tests.convert.commands import assert_classifier_serves_as, package, run_convert  # noqa: E402

MODEL = "mirav2-keras"


@pytest.fixture
def keras_registry(registry):
    """The fixture registry plus mirav2 as a Keras model would declare it: NHWC input."""
    spec = registry.model("mirav2") | {"name": MODEL}
    spec["preprocessing"]["classifier"]["layout"] = "NHWC"
    spec["records"] = [spec["records"][0] | {"id": MODEL}]
    registry.write_model(MODEL, spec)
    return registry


def keras_classifier(classes: int = 5) -> Any:
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((300, 300, 3))
    x = tf.keras.layers.Conv2D(8, 5, strides=4, padding="same", activation="relu")(inputs)
    x = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = tf.keras.layers.AveragePooling2D(9)(x)
    x = tf.keras.layers.Flatten()(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(x))


@pytest.mark.parametrize("saved_as", ["keras", "savedmodel"])
def test_a_keras_model_converts_in_its_own_layout_and_serves_its_answers(
    keras_registry, tmp_path, saved_as
):
    model = keras_classifier()
    if saved_as == "keras":
        source = tmp_path / "ircv2.keras"
        model.save(source)
    else:
        source = tmp_path / "saved_model"
        model.export(str(source))
    out = tmp_path / "converted"

    run = run_convert(MODEL, source, "--from", "keras", "--out", str(out),
                      registry=keras_registry.root)  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = ConversionReport.model_validate_json((out / "conversion.json").read_text())
    assert report.input_shape == ("batch", 300, 300, 3)
    assert report.fp32.max_probability_diff is not None
    assert report.fp32.max_probability_diff <= FP32_MAX_PROBABILITY_DIFF
    assert report.fp32.top1_agreement == 1.0

    archive = tmp_path / "model.tar.gz"
    build = package(MODEL, out, archive, registry=keras_registry.root)
    assert build.returncode == 0, build.stderr
    config = artifact_config(load_fleet(keras_registry.root).models[MODEL])
    requests = [(0, [0.1, 0.2, 0.5, 0.6]), (1, [0.0, 0.0, 1.0, 1.0])]
    assert_classifier_serves_as(load_source("keras", source), config, archive, requests)


def test_a_keras_model_in_the_wrong_layout_is_refused_naming_the_fix(registry, tmp_path):
    source = tmp_path / "ircv2.keras"
    keras_classifier().save(source)
    run = run_convert("mirav2", source, "--from", "keras", "--out", str(tmp_path / "o"),
                      registry=registry.root)  # fmt: skip
    assert run.returncode == 1
    assert (
        "the model does not run on the input models/mirav2.yaml describes, [8, 3, 300, 300] (NCHW)"
        in run.stderr
    )
    assert "check input_size and layout there" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists()
