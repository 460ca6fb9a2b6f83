"""The conversion report (conversion.json in model.tar.gz): how the ONNX graph was made from what the
model developer handed over, and how closely it answers as the source does. Written by the
converter (python -m animl_convert), checked by the packaging tool, shown by `mlmodel --check`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from animl_contract.preprocessing import Strict

CONVERSION_FILE = "conversion.json"
Precision = Literal["fp32", "int8"]
SourceFormat = Literal["onnx", "torchscript", "pytorch", "yolov5", "keras"]

#: FP32 conversion fails when the largest output difference exceeds this share of the outputs'
#: scale (their largest absolute value): float rounding differs between frameworks, nothing more.
FP32_MAX_RELATIVE_DIFF = 1e-4
#: INT8 gates, against the FP32 graph on the engineer's images. A classifier's label is its top-1
#: (Animl writes it when it clears a 0.5..0.8 threshold), so at most 1 image in 100 may change its
#: top-1. A detector's boxes above its default threshold feed the classifiers: matched one to one
#: at IoU 0.5, F1 must stay at or above 0.95.
INT8_MIN_TOP1_AGREEMENT = 0.99
INT8_MIN_BOX_F1 = 0.95
BOX_MATCH_IOU = 0.5


class Agreement(Strict):
    """One graph's outputs against a reference's, on the same inputs."""

    reference: str
    inputs: int = Field(ge=1)
    input_source: Literal["samples", "synthetic"]
    max_abs_diff: float = Field(ge=0)
    output_scale: float = Field(ge=0)
    relative_diff: float = Field(ge=0)
    #: Classifiers: the share of inputs whose top-1 class is the reference's.
    top1_agreement: float | None = Field(default=None, ge=0, le=1)
    #: Detectors: boxes above the default threshold after NMS, matched one to one at IoU 0.5
    #: with the same class; F1 against the reference's boxes.
    box_f1: float | None = Field(default=None, ge=0, le=1)
    reference_boxes: int | None = Field(default=None, ge=0)


class Int8Report(Strict):
    calibration_images: int = Field(ge=1)
    per_channel: bool
    agreement: Agreement
    #: INT8 latency / FP32 latency on this machine, batch of one, median of the runs.
    latency_ratio: float = Field(gt=0)
    gate: str
    passed: bool
    #: Set when the engineer packaged a graph that failed the gate, and why.
    override_reason: str | None = None


class ConversionReport(Strict):
    source_format: SourceFormat
    source_file: str
    precision: Precision
    input_name: str
    input_shape: tuple[int | str, ...]
    fp32: Agreement
    int8: Int8Report | None = None
    tools: dict[str, str]
    #: What the converter changed to export the source (a wrapper, say), in its words.
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _int8_has_its_report(self) -> ConversionReport:
        if (self.precision == "int8") != (self.int8 is not None):
            raise ValueError("an int8 conversion, and only one, has an int8 report")
        if self.int8 is not None and not (self.int8.passed or self.int8.override_reason):
            raise ValueError("the int8 graph failed its gate and no override reason is recorded")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"
