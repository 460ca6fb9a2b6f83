"""MegaDetector: raw image bytes in, normalized boxes with classes 1, 2, 3 out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from animl_serve import geometry
from animl_serve.backend import Backend
from animl_serve.errors import ArtifactError
from animl_serve.handlers.base import Handler, synthetic_jpeg
from animl_serve.images import ScaleHint, decode_image
from animl_serve.model_config import ModelConfig

MAX_NMS_CANDIDATES = 30000
CLASS_OFFSET = 7680  # YOLOv5's max_wh: keeps boxes of different classes apart during NMS


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 as fractions of the image
    confidence: float
    class_index: int


def _candidates(
    output: np.ndarray, config: ModelConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xyxy boxes, confidences, class indices) above the confidence threshold."""
    classes = len(config.classes)
    yolov8 = config.detector_output == "yolov8"
    expected = (4 if yolov8 else 5) + classes
    # YOLOv5: (1, N, 5 + classes) with objectness; YOLOv8: (1, 4 + classes, N) without.
    rows = (output[0].T if yolov8 else output[0]) if output.ndim == 3 else output
    if output.ndim != 3 or rows.shape[1] != expected:
        raise ArtifactError(
            f"detector output has shape {list(output.shape)}; a {config.detector_output} model "
            f"with {classes} classes gives {expected} values per box"
        )
    scores = rows[:, 4:] if yolov8 else rows[:, 5:] * rows[:, 4:5]
    class_index = scores.argmax(axis=1)
    confidence = scores[np.arange(len(rows)), class_index]
    keep = confidence > config.confidence_threshold
    boxes, confidence, class_index = rows[keep, :4], confidence[keep], class_index[keep]
    if len(confidence) > MAX_NMS_CANDIDATES:
        top = confidence.argsort()[::-1][:MAX_NMS_CANDIDATES]
        boxes, confidence, class_index = boxes[top], confidence[top], class_index[top]
    return geometry.xywh_center_to_xyxy(boxes), confidence, class_index


def _letterbox_target(backend: Backend, config: ModelConfig) -> tuple[tuple[int, int], bool]:
    """The (height, width) to letterbox to, and whether the model takes any stride multiple."""
    fixed = backend.input_shape[2:4]
    if all(isinstance(d, int) for d in fixed):
        return (int(fixed[0]), int(fixed[1])), False  # type: ignore[arg-type]
    return config.input_size, True


def letterbox_scale(backend: Backend, config: ModelConfig) -> ScaleHint:
    """How far an image may shrink before the detector sees it: the letterbox ratio."""
    target, dynamic = _letterbox_target(backend, config)
    return lambda size: geometry.plan_letterbox(*size, target, config.stride, dynamic).ratio


def detect(image: Image.Image, backend: Backend, config: ModelConfig) -> list[Detection]:
    target, dynamic = _letterbox_target(backend, config)
    plan = geometry.plan_letterbox(*image.size, target, config.stride, pad_to_stride_only=dynamic)
    canvas = geometry.letterbox(image, plan)
    batch = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    boxes, confidence, class_index = _candidates(backend.run(batch)[0], config)
    if not len(confidence):
        return []
    offset = boxes + class_index[:, None] * CLASS_OFFSET
    keep = geometry.nms(offset, confidence, config.iou_threshold, max_keep=config.max_detections)
    source_boxes = geometry.boxes_to_source(boxes[keep], plan)
    return [
        Detection(tuple(float(v) for v in box), float(conf), int(cls))  # type: ignore[arg-type]
        for box, conf, cls in zip(source_boxes, confidence[keep], class_index[keep], strict=True)
    ]


class DetectorHandler(Handler):
    content_types = frozenset({"image/jpeg", "image/png", "image/jpg", "application/x-image"})

    def predict(self, body: bytes) -> list[dict[str, Any]]:
        scale = letterbox_scale(self.backend, self.config)
        image = decode_image(body, self.limits.max_image_pixels, scale)
        return [
            {
                "x1": round(d.box[0], 6),
                "y1": round(d.box[1], 6),
                "x2": round(d.box[2], 6),
                "y2": round(d.box[3], 6),
                "confidence": round(d.confidence, 6),
                "class": d.class_index + 1,
            }
            for d in detect(image, self.backend, self.config)
        ]

    def synthetic_request(self) -> bytes:
        return synthetic_jpeg()
