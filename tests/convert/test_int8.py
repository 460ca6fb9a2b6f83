"""Calibrated INT8: the gate against the FP32 graph, the recorded override, the registry's
precision through packaging, `mlmodel --check` and `smoke`, and bad calibration input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the converters' torch is not installed (make setup-convert)"
)

from animl_contract.conversion import (  # noqa: E402
    INT8_MIN_SAMPLES,
    INT8_MIN_TOP1_AGREEMENT,
    ConversionReport,
)
from animl_convert.inputs import SYNTHETIC_SIZES, photo_like  # noqa: E402
from animl_ops.local_runtime import serving_archive  # noqa: E402
from tests.convert.commands import package, photo, run_convert  # noqa: E402
from tests.convert.torch_models import ColourClassifier, close_call_classifier  # noqa: E402
from tests.ops.conftest import run_ops  # noqa: E402
from tests.registries import FIXTURE_REGISTRY  # noqa: E402


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    """Images like those the converter compares on: photo-like, of camera-trap frame sizes."""
    folder = tmp_path_factory.mktemp("calibration")
    rng = np.random.default_rng(7)
    for index in range(12):
        photo_like(*SYNTHETIC_SIZES[index % 4], rng).save(folder / f"{index:02}.jpg", quality=90)
    return folder


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    """As many photo-like images as the INT8 gate asks for, other than the calibration's."""
    folder = tmp_path_factory.mktemp("samples")
    rng = np.random.default_rng(11)
    for index in range(INT8_MIN_SAMPLES):
        photo_like(*SYNTHETIC_SIZES[index % 4], rng).save(folder / f"{index:03}.jpg", quality=90)
    return folder


def traced(module: Any, path: Path) -> Path:
    torch.jit.trace(module, torch.rand(1, 3, 300, 300)).save(str(path))
    return path


def clear_classifier() -> ColourClassifier:
    torch.manual_seed(0)
    return ColourClassifier().eval()


def int8_registry(registry):
    registry.edit_model("mirav2", lambda m: m.update(precision="int8"))
    return registry


def test_an_int8_graph_that_agrees_is_packaged_and_shown_by_check_and_smoke(
    registry, calibration, samples, tmp_path
):
    int8_registry(registry)
    source = traced(clear_classifier(), tmp_path / "mirav2.pt")
    out = tmp_path / "converted"

    # Calibrated on the samples themselves: the 12 calibration photos do not span their colours.
    run = run_convert("mirav2", source, "--from", "torchscript", "--int8", "--calibration",
                      str(samples), "--samples", str(samples), "--out", str(out),
                      registry=registry.root)  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = ConversionReport.model_validate_json((out / "conversion.json").read_text())
    assert report.precision == "int8"
    assert report.int8 is not None
    assert (report.int8.calibration_images, report.int8.per_channel) == (100, True)
    assert report.int8.agreement.reference == "fp32 onnx"
    assert report.int8.agreement.top1_agreement is not None
    assert report.int8.agreement.top1_agreement >= INT8_MIN_TOP1_AGREEMENT
    assert (report.int8.passed, report.int8.override_reason) == (True, None)
    assert 0 < report.int8.latency_ratio < 1
    assert (report.int8.agreement.inputs, report.int8.agreement.input_source) == (100, "samples")
    assert "note: models/" not in run.stdout  # the registry already declares int8

    archive = tmp_path / "model.tar.gz"
    packaged = package("mirav2", out, archive, registry.root)
    assert packaged.returncode == 0, packaged.stderr
    assert "int8, inference OK" in packaged.stdout

    check = run_ops("mlmodel", "export", "mirav2", "--check", str(archive),
                    "--registry", str(registry.root))  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "mirav2: serves int8, converted from torchscript mirav2.pt" in check.stderr
    assert "int8 vs fp32: top-1 agreement >= 0.99, probabilities within 0.1 passed" in check.stderr
    assert "on 100 sample images" in check.stderr

    with serving_archive(archive) as url:
        smoke = run_ops("smoke", "animl", "mirav2", "--url", url, "--registry", str(registry.root))
        smoke_json = run_ops("smoke", "animl", "mirav2", "--url", url, "--json",
                             "--registry", str(registry.root))  # fmt: skip
    assert smoke.returncode == 0, smoke.stderr
    assert f"{url} (int8): 200" in smoke.stdout
    assert smoke_json.json()["precision"] == "int8"


def test_an_int8_graph_that_fails_its_gate_ships_only_with_a_recorded_reason(
    registry, calibration, samples, tmp_path
):
    int8_registry(registry)
    source = traced(close_call_classifier(), tmp_path / "mirav2.pt")
    out = tmp_path / "converted"
    args = ["--from", "torchscript", "--int8", "--calibration", str(calibration),
            "--samples", str(samples), "--out", str(out)]  # fmt: skip

    refused = run_convert("mirav2", source, *args, registry=registry.root)

    assert refused.returncode == 1
    assert (
        "the INT8 graph fails its gate (top-1 agreement >= 0.99, probabilities within 0.1): top-1 agreement "
        in (refused.stderr)
    )
    assert '"top1_agreement"' in refused.stderr
    assert not out.exists()

    reason = "ops accepts the top-1 changes: a review set of 200 images showed no label change"
    accepted = run_convert("mirav2", source, *args, "--accept-int8", reason, registry=registry.root)

    assert accepted.returncode == 0, accepted.stderr
    assert f"FAILED, shipped anyway: {reason}" in accepted.stdout
    report = ConversionReport.model_validate_json((out / "conversion.json").read_text())
    assert report.int8 is not None
    assert (report.int8.passed, report.int8.override_reason) == (False, reason)
    archive = tmp_path / "model.tar.gz"
    assert package("mirav2", out, archive, registry.root).returncode == 0
    check = run_ops("mlmodel", "export", "mirav2", "--check", str(archive),
                    "--registry", str(registry.root))  # fmt: skip
    assert f"failed, accepted because: {reason}" in check.stderr


def test_packaging_refuses_a_precision_the_report_or_registry_does_not_back(
    registry, calibration, samples, tmp_path
):
    source = traced(clear_classifier(), tmp_path / "mirav2.pt")
    out = tmp_path / "converted"
    run = run_convert("mirav2", source, "--from", "torchscript", "--int8", "--calibration",
                      str(samples), "--samples", str(samples), "--out", str(out),
                      registry=registry.root)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "note: models/mirav2.yaml declares precision fp32; set precision: int8" in run.stdout

    archive = tmp_path / "model.tar.gz"
    fp32_registry = package("mirav2", out, archive, registry.root)
    assert fp32_registry.returncode == 2
    assert "conversion.json records precision int8 but animl-model.json says fp32" in (
        fp32_registry.stderr
    )
    int8_registry(registry)
    no_report = package("mirav2", out, archive, registry.root, report=False)
    assert no_report.returncode == 2
    assert "an int8 artifact needs the converter's conversion.json" in no_report.stderr
    assert not archive.exists()


def test_calibration_that_does_not_decode_names_the_image_and_writes_nothing(
    registry, calibration, samples, tmp_path
):
    source = traced(clear_classifier(), tmp_path / "mirav2.pt")
    broken = tmp_path / "calibration"
    broken.mkdir()
    for image in calibration.iterdir():
        (broken / image.name).write_bytes(image.read_bytes())
    (broken / "truncated.jpg").write_bytes(photo(seed=3)[:200])
    out = tmp_path / "converted"

    run = run_convert("mirav2", source, "--from", "torchscript", "--int8", "--calibration",
                      str(broken), "--samples", str(samples), "--out", str(out),
                      registry=registry.root)  # fmt: skip

    assert run.returncode == 2
    assert f"calibration image {broken / 'truncated.jpg'} does not decode" in run.stderr
    assert not out.exists()
    without = run_convert("mirav2", source, "--from", "torchscript", "--int8", "--out", str(out),
                          registry=registry.root)  # fmt: skip
    assert without.returncode == 2
    assert "--int8 needs --calibration DIR" in without.stderr


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ([], "error: --int8 is judged on the camera traps' own images: add --samples DIR with at "
             "least 100, or --accept-int8 REASON to judge it on synthetic ones"),
        (["--samples", "few"], "error: --samples holds 3 images; the INT8 gate needs at least 100"),
        (["--samples", "same"], "error: --samples: all 3 images are the same; use varied ones"),
    ],
)  # fmt: skip
def test_int8_is_judged_on_enough_varied_samples_or_refused(calibration, tmp_path, extra, error):
    rng = np.random.default_rng(3)
    (tmp_path / "few").mkdir()
    (tmp_path / "same").mkdir()
    one = photo_like(640, 480, rng)
    for index in range(3):
        photo_like(640, 480, rng).save(tmp_path / "few" / f"{index}.jpg")
        one.save(tmp_path / "same" / f"{index}.jpg")
    extra = [str(tmp_path / e) if e in ("few", "same") else e for e in extra]
    source = traced(clear_classifier(), tmp_path / "mirav2.pt")
    run = run_convert("mirav2", source, "--from", "torchscript", "--int8", "--calibration",
                      str(calibration), *extra, "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert error in run.stderr
    assert not (tmp_path / "o").exists()
