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

#: FP32 conversion is judged where Animl reads the model: a classifier's probabilities (softmax of
#: its logits), a detector's boxes above the threshold after NMS. ONNX Runtime and PyTorch differ
#: in float rounding only; benchmarks/fp32_parity.py measured at most 1.2e-7 in probability on
#: EfficientNet-B0/B3 and ViT-S, traced and scripted, photo-like inputs, and a relative logit
#: difference of 3e-4 (seen on real JPEGs) moves a probability by at most 1.5e-3 at logits near
#: 10. One part in a thousand is ten times finer than the two decimals the API's confidences
#: carry, and a changed weight moves far more.
FP32_MAX_PROBABILITY_DIFF = 1e-3
#: Detectors: every box above the threshold matched (F1 1.0), confidences and coordinates (as a
#: share of the canvas) within this.
FP32_MAX_BOX_DIFF = 1e-3

#: INT8 gates, against the FP32 graph on the engineer's images. A classifier's label is its top-1
#: (Animl writes it when it clears a 0.5..0.8 threshold), so at most 1 image in 100 may change its
#: top-1. A detector's boxes above its default threshold feed the classifiers: matched one to one
#: at IoU 0.5, F1 must stay at or above 0.95.
INT8_MIN_TOP1_AGREEMENT = 0.99
INT8_MIN_BOX_F1 = 0.95
#: And what they answer may move only so far: a classifier's probabilities, a detector's
#: confidences (both 0..1), by at most a tenth. Top-1 and F1 alone pass a broken graph on inputs
#: where the model answers one class for everything.
INT8_MAX_PROBABILITY_DIFF = 0.1
#: The gate is judged on the engineer's own images, at least this many: top-1 agreement of 0.99
#: tells one changed label in a hundred only over a hundred images.
INT8_MIN_SAMPLES = 100
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
    #: Classifiers: the largest difference of the probabilities the endpoint answers.
    max_probability_diff: float | None = Field(default=None, ge=0)
    #: Detectors, over the matched boxes: confidences, and coordinates as a share of the canvas.
    max_confidence_diff: float | None = Field(default=None, ge=0)
    max_box_diff: float | None = Field(default=None, ge=0)

    def describe(self) -> str:
        """One line, on the scale Animl reads the model at, saying what the inputs were."""
        if self.max_probability_diff is not None:
            reading = f"probabilities within {self.max_probability_diff:.1e}"
        elif self.max_confidence_diff is not None:
            worst = max(self.max_confidence_diff, self.max_box_diff or 0.0)
            reading = f"boxes within {worst:.1e} of the canvas and in confidence"
        else:
            reading = f"{self.relative_diff:.1e} of the output scale"
        if self.top1_agreement is not None:
            reading += f", top-1 agreement {self.top1_agreement:.3f}"
        if self.box_f1 is not None:
            reading += f", box F1 {self.box_f1:.3f} ({self.reference_boxes} boxes)"
        kind = "synthetic photo-like" if self.input_source == "synthetic" else "sample"
        return f"{reading} on {self.inputs} {kind} images"


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
