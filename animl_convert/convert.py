"""One conversion, all or nothing: the source is run against its ONNX export (and the INT8 graph
against the FP32 one), and model.onnx with conversion.json is written only when every check
passed."""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from animl_contract.artifact import MODEL_FILE
from animl_contract.conversion import (
    CONVERSION_FILE,
    INT8_MAX_PROBABILITY_DIFF,
    INT8_MIN_BOX_F1,
    INT8_MIN_SAMPLES,
    INT8_MIN_TOP1_AGREEMENT,
    Agreement,
    ConversionReport,
    Int8Report,
    SourceFormat,
)
from animl_convert.errors import CheckFailed, ConversionError
from animl_convert.inputs import InputSpec, load_images, synthetic_images
from animl_convert.parity import agreement, fp32_problem
from animl_convert.quantize import latency_seconds, quantize_int8
from animl_convert.sources import INPUT_NAME, load_source
from model_registry.schema import ModelSpec

TOOLS = ("torch", "tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime")
OUTPUTS = (MODEL_FILE, CONVERSION_FILE)


@dataclass(frozen=True)
class Request:
    model: ModelSpec
    source_format: SourceFormat
    source: Path
    out: Path
    code: str | None = None
    yolov5_repo: Path | None = None
    samples: Path | None = None
    int8: bool = False
    calibration: Path | None = None
    per_channel: bool = True
    #: Ship an INT8 graph that failed its gate anyway, for this reason (recorded in the report).
    accept_int8: str | None = None


class ParityFailedError(CheckFailed):
    def __init__(self, message: str, agreement: Agreement) -> None:
        super().__init__(f"{message}\n{agreement.model_dump_json(indent=2)}")
        self.agreement = agreement


def _tools() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _check_outputs(model: ModelSpec, outputs: list[np.ndarray], batch: int) -> None:
    """The first output answers each class of the registry: a classifier's scores, or YOLOv5's
    (boxes, 4 coordinates + objectness + one score per class)."""
    classes = len(model.classes)
    first = outputs[0]
    if model.family == "detector":
        ok = first.ndim == 3 and first.shape[0] == batch and first.shape[2] == 5 + classes
        expected = f"(batch, boxes, {5 + classes}) for {classes} classes"
    else:
        ok = first.ndim == 2 and first.shape == (batch, classes)
        expected = f"(batch, {classes}) for the registry's {classes} classes"
    if not ok:
        raise CheckFailed(
            f"the model answers an output of shape {first.shape}, not {expected}: is this the "
            f"model of models/{model.name}.yaml, with its classes in output order?"
        )


def _check_input(graph: Path, spec: InputSpec) -> tuple[int | str, ...]:
    try:
        onnx.checker.check_model(str(graph), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise CheckFailed(f"the ONNX graph is not valid: {error}") from error
    inputs = ort.InferenceSession(str(graph)).get_inputs()
    if len(inputs) != 1:
        raise ConversionError(f"the graph has {len(inputs)} inputs; the runtime feeds exactly one")
    only = inputs[0]
    shape = tuple(d if isinstance(d, int) else "batch" if i == 0 else str(d)
                  for i, d in enumerate(only.shape))  # fmt: skip
    expected = spec.shape("batch")
    # Symbolic height and width (a graph exported for any size) take the registry's size.
    if len(shape) != len(expected) or any(
        isinstance(d, int) and d != e for d, e in zip(shape[1:], expected[1:], strict=True)
    ):
        raise CheckFailed(
            f"the graph's input is {list(shape)}, but the registry's pre-processing makes "
            f"{list(spec.shape('batch'))} ({spec.layout}); fix input_size or layout in the "
            "registry, or export the model at that size"
        )
    return shape


def _gate(model: ModelSpec, measured: Agreement, fp32_classes: int) -> tuple[str, list[str]]:
    """The gate, and what fails it. fp32_classes: how many classes the FP32 graph's top-1 takes
    over the inputs; with one, top-1 agreement says nothing and the probability bound decides."""
    bound = INT8_MAX_PROBABILITY_DIFF
    failed = []
    if model.family == "detector":
        gate = f"box F1 >= {INT8_MIN_BOX_F1} at IoU 0.5, confidences within {bound}"
        if (measured.box_f1 or 0.0) < INT8_MIN_BOX_F1:
            failed.append(f"box F1 {measured.box_f1 or 0.0:.3f}")
        if (measured.max_confidence_diff or 0.0) > bound:
            failed.append(f"confidences moved by up to {measured.max_confidence_diff:.3f}")
        return gate, failed
    gate = f"top-1 agreement >= {INT8_MIN_TOP1_AGREEMENT}, probabilities within {bound}"
    if (measured.top1_agreement or 0.0) < INT8_MIN_TOP1_AGREEMENT:
        failed.append(f"top-1 agreement {measured.top1_agreement or 0.0:.3f}")
    if (measured.max_probability_diff or 0.0) > bound:
        failed.append(f"probabilities moved by up to {measured.max_probability_diff:.3f}")
    if fp32_classes == 1 and measured.inputs > 1:
        failed.append(
            f"the FP32 graph answers one class for all {measured.inputs} inputs, so they cannot "
            "judge it: use samples of the classes it tells apart"
        )
    return gate, failed


def _detector_threshold(model: ModelSpec) -> float:
    """Boxes are compared above the lowest default threshold of the model's records."""
    thresholds = [
        r.default_confidence_threshold
        for r in model.records
        if r.default_confidence_threshold is not None
    ]
    if not thresholds:
        raise ConversionError(
            f"models/{model.name}.yaml gives no record a default_confidence_threshold; boxes "
            "are compared above it, so fill it in first"
        )
    return min(thresholds)


def _no_progress(_: str) -> None:
    return None


def convert(request: Request, progress: Callable[[str], None] = _no_progress) -> ConversionReport:
    """progress: told each step as it starts, for the user who waits for it."""
    model = request.model
    _check_out(request.out)
    if model.preprocessing is None or not model.classes:
        raise ConversionError(
            f"models/{model.name}.yaml lacks the classes or pre-processing a conversion checks "
            "against; fill them in first"
        )
    if request.int8 and request.calibration is None:
        raise ConversionError("--int8 needs --calibration DIR: images like those it will see")
    if request.int8 and request.samples is None and not request.accept_int8:
        raise ConversionError(
            f"--int8 is judged on the camera traps' own images: add --samples DIR with at least "
            f"{INT8_MIN_SAMPLES}, or --accept-int8 REASON to judge it on synthetic ones"
        )
    spec = InputSpec.of(model.preprocessing)
    output = model.preprocessing.classifier.output if model.preprocessing.classifier else "logits"
    if request.samples is not None:
        inputs, input_source = (
            load_images(request.samples, model.preprocessing, "sample"),
            "samples",
        )
    else:
        inputs, input_source = synthetic_images(model.preprocessing), "synthetic"
    calibration = (
        load_images(request.calibration, model.preprocessing, "calibration")
        if request.calibration
        else None
    )
    for what, images in (("--samples", inputs), ("--calibration", calibration)):
        if (
            images is not None
            and len(images) > 1
            and all(np.array_equal(images[0], i) for i in images)
        ):
            raise ConversionError(f"{what}: all {len(images)} images are the same; use varied ones")
    if request.int8 and not request.accept_int8 and len(inputs) < INT8_MIN_SAMPLES:
        raise ConversionError(
            f"--samples holds {len(inputs)} images; the INT8 gate needs at least "
            f"{INT8_MIN_SAMPLES} (or --accept-int8 REASON)"
        )
    detector = (
        (model.preprocessing.detector, _detector_threshold(model))
        if model.family == "detector" and model.preprocessing.detector is not None
        else None
    )

    source = load_source(request.source_format, request.source, request.code, request.yolov5_repo)
    # From here on a failure is the conversion's, not the input's: the previous run's files must
    # not be taken for this run's.
    stale = _remove_outputs(request.out)
    if stale:
        progress(f"removed the previous run's {', '.join(stale)} from {request.out}")
    progress(f"running the {request.source_format} source on {len(inputs)} {input_source} inputs")
    try:
        reference = source.run(inputs)
    except Exception as error:  # whatever the framework raises for an input it cannot take
        raise CheckFailed(
            f"the model does not run on the input models/{model.name}.yaml describes, "
            f"{list(spec.shape(len(inputs)))} ({spec.layout}): {type(error).__name__}: "
            f"{(str(error).strip().splitlines() or [''])[0]}; check input_size and layout there"
        ) from error
    _check_outputs(model, reference, len(inputs))

    request.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=request.out.parent, prefix=".convert-") as work:
        fp32 = Path(work) / "fp32.onnx"
        progress("exporting to ONNX")
        source.export(fp32, inputs)
        input_shape = _check_input(fp32, spec)
        progress("running the ONNX graph on the same inputs")
        exported = load_source("onnx", fp32).run(inputs)
        fp32_agreement = agreement(
            f"{request.source_format} source", reference, exported, input_source, detector, output
        )
        if problem := fp32_problem(fp32_agreement):
            raise ParityFailedError(
                f"the ONNX graph does not answer as the source: {problem}; nothing was written",
                fp32_agreement,
            )
        shipped, int8_report = fp32, None
        if request.int8:
            assert calibration is not None
            int8 = Path(work) / "int8.onnx"
            progress(f"quantizing to INT8, calibrated on {len(calibration)} images")
            quantize_int8(fp32, int8, calibration, request.per_channel)
            progress("comparing the INT8 graph with the FP32 one")
            measured = agreement(
                "fp32 onnx", exported, load_source("onnx", int8).run(inputs), input_source,
                detector, output,
            )  # fmt: skip
            fp32_classes = len(set(exported[0].argmax(axis=-1).ravel())) if detector is None else 0
            gate, failed = _gate(model, measured, fp32_classes)
            progress("timing both graphs")
            ratio = latency_seconds(int8, inputs) / latency_seconds(fp32, inputs)
            if ratio >= 1:
                failed.append(f"it takes {ratio:.2f}x the FP32 graph's time on this CPU, so it buys nothing here")  # fmt: skip
            passed = not failed
            if not passed and not request.accept_int8:
                raise ParityFailedError(
                    f"the INT8 graph fails its gate ({gate}): {'; '.join(failed)}; nothing was "
                    "written. Calibrate with more representative images, try --no-per-channel, "
                    "ship the FP32 graph, or this one anyway with --accept-int8 REASON",
                    measured,
                )
            int8_report = Int8Report(
                calibration_images=len(calibration),
                per_channel=request.per_channel,
                agreement=measured,
                latency_ratio=ratio,
                gate=gate,
                passed=passed,
                override_reason=None if passed else request.accept_int8,
            )
            shipped = int8
        report = ConversionReport(
            source_format=request.source_format,
            source_file=request.source.name,
            precision="int8" if request.int8 else "fp32",
            input_name=ort.InferenceSession(str(shipped)).get_inputs()[0].name or INPUT_NAME,
            input_shape=input_shape,
            fp32=fp32_agreement,
            int8=int8_report,
            tools=_tools(),
            notes=(source.note,) if source.note else (),
        )
        written = Path(work) / CONVERSION_FILE
        written.write_text(report.to_json(), encoding="utf-8")
        request.out.mkdir(exist_ok=True)
        os.replace(shipped, request.out / MODEL_FILE)
        os.replace(written, request.out / CONVERSION_FILE)
    return report


def _remove_outputs(out: Path) -> list[str]:
    removed = [name for name in OUTPUTS if (out / name).is_file()]
    for name in removed:
        (out / name).unlink()
    return removed


def _check_out(out: Path) -> None:
    """The output folder holds what a conversion writes, and nothing of anyone else's."""
    if out.exists() and not out.is_dir():
        raise ConversionError(f"--out {out} is a file; give a folder")
    others = sorted(p.name for p in out.iterdir() if p.name not in OUTPUTS) if out.is_dir() else []
    if others:
        raise ConversionError(f"--out {out} already holds {others}; give an empty or new folder")
