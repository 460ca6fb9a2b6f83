"""The model config inside model.tar.gz (animl-model.json): what the handler needs to know."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from animl_serve.errors import ArtifactError

CONFIG_FILE = "animl-model.json"
MODEL_FILE = "model.onnx"
OPTIMIZED_MODEL_FILE = "model.optimized.onnx"
DETECTOR_FILE = "detector.onnx"

FAMILIES = ("detector", "crop-classifier", "speciesnet")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def mongo_safe(label: str) -> str:
    """MongoDB keys cannot hold '.' or '$': "Bird sp." is returned as "Bird sp"."""
    return label.replace(".", "").replace("$", "").strip()


@dataclass(frozen=True)
class ModelClass:
    id: str
    name: str


@dataclass(frozen=True)
class ModelConfig:
    family: str
    input_size: tuple[int, int]  # height, width
    classes: tuple[ModelClass, ...]
    name: str = "model"
    version: str = "0"
    layout: str = "NCHW"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    output: str = "logits"
    bbox_format: str = "yxyx"
    confidence_threshold: float = 0.0005
    iou_threshold: float = 0.45
    max_detections: int = 300
    stride: int = 64
    detector_output: str = "yolov5"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [c.id for c in self.classes]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "family": self.family,
            "input_size": list(self.input_size),
            "classes": [{"id": c.id, "name": c.name} for c in self.classes],
            "layout": self.layout,
            "normalization": {"mean": list(self.mean), "std": list(self.std)},
            "output": self.output,
            "bbox_format": self.bbox_format,
            "thresholds": {"confidence": self.confidence_threshold, "iou": self.iou_threshold},
            "max_detections": self.max_detections,
            "stride": self.stride,
            "detector_output": self.detector_output,
        }


def _choice(data: dict, key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise ArtifactError(f"{CONFIG_FILE}: {key} is {value!r}; expected one of {list(choices)}")
    return value


def _number(data: dict, key: str, default: float, lo: float, hi: float) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not lo <= value <= hi:
        raise ArtifactError(f"{CONFIG_FILE}: {key} is {value!r}; expected a number in {lo}..{hi}")
    return float(value)


def _classes(raw: object) -> tuple[ModelClass, ...]:
    if not isinstance(raw, list) or not raw:
        raise ArtifactError(f"{CONFIG_FILE}: classes must be a non-empty list")
    classes = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"id": item, "name": item}
        if not isinstance(item, dict) or not {"id", "name"} <= item.keys():
            raise ArtifactError(f"{CONFIG_FILE}: classes[{i}] must be a label or {{id, name}}")
        label = mongo_safe(str(item["id"]))
        if not label:
            raise ArtifactError(f"{CONFIG_FILE}: classes[{i}] has an empty label")
        classes.append(ModelClass(id=label, name=mongo_safe(str(item["name"]))))
    labels = [c.id for c in classes]
    if len(set(labels)) != len(labels):
        raise ArtifactError(f"{CONFIG_FILE}: class labels are not unique once made MongoDB-safe")
    return tuple(classes)


def _input_size(raw: object) -> tuple[int, int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw, raw]
    if not (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(v, int) and 8 <= v <= 8192 for v in raw)
    ):
        raise ArtifactError(f"{CONFIG_FILE}: input_size must be an integer or [height, width]")
    return raw[0], raw[1]


def parse_model_config(data: object) -> ModelConfig:
    if not isinstance(data, dict):
        raise ArtifactError(f"{CONFIG_FILE} must hold a JSON object")
    family = _choice(data, "family", FAMILIES, "")
    default_norm = (
        (IMAGENET_MEAN, IMAGENET_STD) if family == "crop-classifier" else ((0.0,) * 3, (1.0,) * 3)
    )
    norm = data.get("normalization", {})
    mean = tuple(norm.get("mean", default_norm[0]))
    std = tuple(norm.get("std", default_norm[1]))
    if len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std):
        raise ArtifactError(
            f"{CONFIG_FILE}: normalization needs three means and three positive stds"
        )
    thresholds = data.get("thresholds", {})
    return ModelConfig(
        family=family,
        name=str(data.get("name", "model")),
        version=str(data.get("version", "0")),
        input_size=_input_size(data.get("input_size")),
        classes=_classes(data.get("classes")),
        layout=_choice(
            data, "layout", ("NCHW", "NHWC"), "NHWC" if family == "speciesnet" else "NCHW"
        ),
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        output=_choice(data, "output", ("logits", "probabilities"), "logits"),
        bbox_format=_choice(
            data, "bbox_format", ("yxyx", "xywh"), "xywh" if family == "speciesnet" else "yxyx"
        ),
        confidence_threshold=_number(thresholds, "confidence", 0.0005, 0.0, 1.0),
        iou_threshold=_number(thresholds, "iou", 0.45, 0.0, 1.0),
        max_detections=int(_number(data, "max_detections", 300, 1, 10000)),
        stride=int(_number(data, "stride", 64, 1, 256)),
        detector_output=_choice(data, "detector_output", ("yolov5", "yolov8"), "yolov5"),
    )


def load_model_config(model_dir: Path) -> ModelConfig:
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(
            f"{path} is missing; the artifact must hold {CONFIG_FILE} and {MODEL_FILE}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
    return parse_model_config(data)
