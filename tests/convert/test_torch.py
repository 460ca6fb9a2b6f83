"""TorchScript (traced and scripted) and PyTorch code plus a state dict, converted with the real
command: the parity report, what the runtime then serves, and every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="the converters' torch is not installed (make setup-convert)"
)

from animl_contract.conversion import FP32_MAX_PROBABILITY_DIFF, ConversionReport  # noqa: E402
from animl_convert.sources import TorchSource  # noqa: E402
from benchmarks.torch_architectures import efficientnet  # noqa: E402
from model_registry.artifact import artifact_config  # noqa: E402
from tests.convert.commands import (  # noqa: E402
    assert_classifier_serves_as,
    package,
    photo,
    run_convert,
)
from tests.convert.torch_models import NoisyClassifier, TinyClassifier, TwoInputs, tiny_vit  # noqa: E402
from tests.registries import FIXTURE_REGISTRY, fixture_fleet  # noqa: E402

CODE_FILE = Path(__file__).with_name("torch_models.py")
REQUESTS = [(0, [0.1, 0.2, 0.5, 0.6]), (1, [0.3, 0.05, 0.9, 0.5]), (2, [0.0, 0.0, 1.0, 1.0])]


def classifier(classes: int = 5, input_size: int = 300, seed: int = 0) -> TinyClassifier:
    torch.manual_seed(seed)
    return TinyClassifier(classes, input_size).eval()


def report_of(out: Path) -> ConversionReport:
    return ConversionReport.model_validate_json((out / "conversion.json").read_text())


def assert_serves_the_sources_answers(model: str, module: Any, archive: Path) -> None:
    config = artifact_config(fixture_fleet().models[model])
    assert_classifier_serves_as(TorchSource(module), config, archive, REQUESTS)


def test_traced_torchscript_converts_with_a_dynamic_batch_and_serves_the_sources_answers(
    tmp_path,
):
    module = classifier()
    source = tmp_path / "mirav2.pt"
    torch.jit.trace(module, torch.rand(1, 3, 300, 300)).save(str(source))
    out = tmp_path / "converted"

    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert "top-1 agreement 1.000" in run.stdout
    report = report_of(out)
    assert (report.source_format, report.source_file, report.precision) == (
        "torchscript",
        "mirav2.pt",
        "fp32",
    )
    assert report.input_shape == ("batch", 3, 300, 300)
    assert report.fp32.max_probability_diff is not None
    assert report.fp32.max_probability_diff <= FP32_MAX_PROBABILITY_DIFF
    assert (report.fp32.inputs, report.fp32.input_source, report.fp32.top1_agreement) == (
        8,
        "synthetic",
        1.0,
    )
    assert report.int8 is None
    assert {"torch", "onnx", "onnxruntime"} <= set(report.tools)
    archive = tmp_path / "model.tar.gz"
    packaged = package("mirav2", out, archive)
    assert packaged.returncode == 0, packaged.stderr
    assert_serves_the_sources_answers("mirav2", module, archive)


def test_scripted_torchscript_and_the_engineers_sample_images(tmp_path):
    module = classifier(classes=52, input_size=480, seed=1)
    source = tmp_path / "nzdoc.pt"
    torch.jit.script(module).save(str(source))
    samples = tmp_path / "samples"
    samples.mkdir()
    for seed in range(3):
        (samples / f"{seed}.jpg").write_bytes(photo(seed=seed))
    out = tmp_path / "converted"

    run = run_convert("nzdoc", source, "--from", "torchscript", "--samples", str(samples),
                      "--out", str(out), registry=FIXTURE_REGISTRY)  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = report_of(out)
    assert (report.fp32.inputs, report.fp32.input_source) == (3, "samples")
    assert report.fp32.max_probability_diff is not None
    assert report.fp32.max_probability_diff <= FP32_MAX_PROBABILITY_DIFF
    assert report.input_shape == ("batch", 3, 480, 480)


def test_code_and_a_state_dict_convert(tmp_path):
    module = classifier(seed=2)
    weights = tmp_path / "mirav2_state.pt"
    torch.save({"state_dict": module.state_dict()}, weights)
    out = tmp_path / "converted"

    run = run_convert("mirav2", weights, "--from", "pytorch", "--code",
                      f"{CODE_FILE}:tiny_classifier", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip

    assert run.returncode == 0, run.stderr
    archive = tmp_path / "model.tar.gz"
    packaged = package("mirav2", out, archive)
    assert packaged.returncode == 0, packaged.stderr
    assert_serves_the_sources_answers("mirav2", module, archive)


def test_a_state_dict_of_another_model_is_refused_naming_the_keys(tmp_path):
    weights = tmp_path / "other.pt"
    torch.save(torch.nn.Linear(3, 5).state_dict(), weights)
    out = tmp_path / "converted"
    run = run_convert("mirav2", weights, "--from", "pytorch", "--code",
                      f"{CODE_FILE}:tiny_classifier", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert f"{weights} is not a state dict of the model" in run.stderr
    assert "Missing key(s)" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a checkpoint", "does not load as TorchScript"),
        (b"", "does not load as TorchScript"),
    ],
)
def test_a_checkpoint_that_does_not_load_is_a_clear_error(tmp_path, content, expected):
    source = tmp_path / "broken.pt"
    source.write_bytes(content)
    out = tmp_path / "converted"
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert f"{source} {expected}" in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists()


def test_outputs_that_do_not_match_the_class_count_are_refused(tmp_path):
    source = tmp_path / "seven.pt"
    torch.jit.trace(classifier(classes=7), torch.rand(1, 3, 300, 300)).save(str(source))
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 1
    assert "output of shape (8, 7), not (batch, 5) for the registry's 5 classes" in run.stderr
    assert not (tmp_path / "o").exists()


def test_a_graph_that_answers_otherwise_fails_parity_with_the_report(tmp_path):
    torch.manual_seed(0)
    source = tmp_path / "noisy.pt"
    torch.jit.trace(NoisyClassifier().eval(), torch.rand(1, 3, 300, 300), check_trace=False).save(
        str(source)
    )
    out = tmp_path / "converted"
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 1
    assert "the ONNX graph does not answer as the source: its probabilities differ" in run.stderr
    assert '"max_abs_diff"' in run.stderr
    assert not out.exists()


def test_a_model_that_does_not_export_names_the_operator(tmp_path):
    class Unexportable(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            pooled = torch.nn.functional.adaptive_avg_pool2d(x, 7)
            return pooled.flatten(1)[:, :5]

    source = tmp_path / "unexportable.pt"
    torch.jit.trace(Unexportable(), torch.rand(1, 3, 300, 300)).save(str(source))
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 1
    assert "does not export to ONNX" in run.stderr
    assert "adaptive_avg_pool2d" in run.stderr
    assert "Torch IR graph" not in run.stderr
    assert not (tmp_path / "o").exists()


def test_an_existing_onnx_export_is_verified_and_shipped_as_it_is(tmp_path):
    export = tmp_path / "mirav2.onnx"
    TorchSource(classifier(seed=3)).export(export, np.zeros((1, 3, 300, 300), np.float32))
    out = tmp_path / "converted"

    run = run_convert("mirav2", export, "--from", "onnx", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip

    assert run.returncode == 0, run.stderr
    assert (out / "model.onnx").read_bytes() == export.read_bytes()
    report = report_of(out)
    assert (report.source_format, report.fp32.max_abs_diff) == ("onnx", 0.0)


def test_an_onnx_export_of_another_input_size_is_refused_naming_the_registry_field(tmp_path):
    export = tmp_path / "mirav2.onnx"
    TorchSource(classifier(input_size=224)).export(export, np.zeros((1, 3, 224, 224), np.float32))
    run = run_convert("mirav2", export, "--from", "onnx", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 1
    assert "models/mirav2.yaml describes, [8, 3, 300, 300] (NCHW)" in run.stderr
    assert not (tmp_path / "o").exists()


def test_an_unknown_model_is_refused_naming_those_the_registry_declares(tmp_path):
    (tmp_path / "any.onnx").write_bytes(b"")
    run = run_convert("mirav3", tmp_path / "any.onnx", "--from", "onnx", "--out",
                      str(tmp_path / "o"), registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.startswith(
        "error: unknown model 'mirav3' (did you mean 'mirav2'?); the registry declares: alitav3, "
    )
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists()


def test_a_scripted_vit_with_optional_arguments_is_exported_behind_a_one_input_wrapper(tmp_path):
    """DeepFaune's shape: timm 1.x scripts its ViT with forward(x, attn_mask=None,
    is_causal=False), which the exporter alone fails on (an INTERNAL ASSERT in graph_utils.cpp)."""
    module = tiny_vit()
    source = tmp_path / "deepfaune.pt"
    torch.jit.script(module).save(str(source))
    out = tmp_path / "converted"

    run = run_convert("deepfaune-ne", source, "--from", "torchscript", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip

    assert run.returncode == 0, run.stderr
    report = report_of(out)
    assert report.notes == (
        "forward(x, attn_mask, is_causal) exported behind a wrapper that passes x alone "
        "(attn_mask=None, is_causal=False)",
    )
    assert f"note: {report.notes[0]}" in run.stdout
    assert report.fp32.max_probability_diff is not None
    assert report.fp32.max_probability_diff <= FP32_MAX_PROBABILITY_DIFF
    assert report.input_shape == ("batch", 3, 182, 182)
    archive = tmp_path / "model.tar.gz"
    assert package("deepfaune-ne", out, archive).returncode == 0
    assert_serves_the_sources_answers("deepfaune-ne", module, archive)


def test_a_forward_that_needs_a_second_input_is_refused_naming_it(tmp_path):
    source = tmp_path / "two.pt"
    torch.jit.script(TwoInputs().eval()).save(str(source))
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert "forward takes scale besides x, with no default; the runtime feeds the model one " in (
        run.stderr
    )
    assert not (tmp_path / "o").exists()


def test_an_onnx_graph_with_two_inputs_is_refused_naming_them(tmp_path):
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 5]) for n in "ab"]
    output = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 5])
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["out"])], "two", inputs, [output]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    source = tmp_path / "two.onnx"
    source.write_bytes(model.SerializeToString())
    run = run_convert("mirav2", source, "--from", "onnx", "--out", str(tmp_path / "o"),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 2
    assert (
        f"error: {source} takes 2 inputs (a, b); the runtime feeds the model one image"
        in run.stderr
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("how", ["trace", "script"])
def test_an_efficientnet_traced_or_scripted_converts_and_serves_its_answers(tmp_path, how):
    """mirav2's and nzdoc's shape: depthwise convolutions, squeeze-and-excitation, SiLU."""
    torch.manual_seed(0)
    module = efficientnet(5, width=0.25, depth=0.34)
    scripted = (
        torch.jit.trace(module, torch.rand(1, 3, 300, 300))
        if how == "trace"
        else torch.jit.script(module)
    )
    source = tmp_path / "mirav2.pt"
    scripted.save(str(source))
    out = tmp_path / "converted"
    run = run_convert("mirav2", source, "--from", "torchscript", "--out", str(out),
                      registry=FIXTURE_REGISTRY)  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = report_of(out)
    assert report.fp32.max_probability_diff is not None
    assert report.fp32.max_probability_diff <= FP32_MAX_PROBABILITY_DIFF
    archive = tmp_path / "model.tar.gz"
    assert package("mirav2", out, archive).returncode == 0
    assert_serves_the_sources_answers("mirav2", module, archive)
