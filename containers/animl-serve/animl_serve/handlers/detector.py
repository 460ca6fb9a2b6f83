"""MegaDetector: raw image bytes in, normalized boxes with classes 1, 2, 3 out (the MegaDetector v5
handler, github:tnc-ca-geo/animl-ml api/megadetectorv5/mdv5_handler.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from animl_contract.preprocessing import DetectorSettings
from animl_serve import geometry
from animl_serve.backend import Backend
from animl_serve.errors import ArtifactError
from animl_serve.handlers.base import Handler, synthetic_jpeg

MAX_NMS_CANDIDATES = 30000  # YOLOv5's max_nms
CLASS_OFFSET = 4096  # YOLOv5's max_wh: keeps boxes of different classes apart during NMS


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the image
    confidence: float
    class_index: int


def _candidates(
    output: np.ndarray, settings: DetectorSettings, classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xyxy boxes, confidences, class indices) above the confidence threshold."""
    yolov8 = settings.output == "yolov8"
    expected = (4 if yolov8 else 5) + classes
    # YOLOv5: (1, N, 5 + classes) with objectness; YOLOv8: (1, 4 + classes, N) without.
    rows = (output[0].T if yolov8 else output[0]) if output.ndim == 3 else output
    if output.ndim != 3 or rows.shape[1] != expected:
        raise ArtifactError(
            f"detector output has shape {list(output.shape)}; a {settings.output} model "
            f"with {classes} classes gives {expected} values per box"
        )
    scores = rows[:, 4:] if yolov8 else rows[:, 5:] * rows[:, 4:5]
    class_index = scores.argmax(axis=1)
    confidence = scores[np.arange(len(rows)), class_index]
    keep = confidence > settings.confidence_threshold
    boxes, confidence, class_index = rows[keep, :4], confidence[keep], class_index[keep]
    if len(confidence) > MAX_NMS_CANDIDATES:
        top = confidence.argsort()[::-1][:MAX_NMS_CANDIDATES]
        boxes, confidence, class_index = boxes[top], confidence[top], class_index[top]
    return geometry.xywh_center_to_xyxy(boxes), confidence, class_index


def _canvas(backend: Backend, settings: DetectorSettings) -> tuple[tuple[int, int], bool]:
    """The (height, width) to letterbox to, and whether the whole canvas is filled."""
    fixed = backend.input_shape[2:4]
    static = all(isinstance(d, int) for d in fixed)
    if settings.canvas_mode == "fixed" and static and tuple(fixed) != settings.canvas:
        raise ArtifactError(
            f"the detector's input is fixed at {list(fixed)} but animl-model.json declares "
            f"canvas {list(settings.canvas)}"
        )
    return settings.canvas, settings.canvas_mode == "fixed"


def detect(
    image: Image.Image, backend: Backend, settings: DetectorSettings, classes: int
) -> list[Detection]:
    canvas, fixed = _canvas(backend, settings)
    plan = geometry.plan_letterbox(*image.size, canvas, settings.stride, fixed, settings.scale_up)
    pixels = geometry.letterbox(image, plan, settings.resize_filter)
    batch = np.ascontiguousarray(pixels.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    boxes, confidence, class_index = _candidates(backend.run(batch)[0], settings, classes)
    if not len(confidence):
        return []
    offset = boxes + class_index[:, None] * CLASS_OFFSET
    keep = geometry.nms(offset, confidence, settings.iou_threshold, settings.max_detections)
    from_shapes = settings.box_rescale == "canvas"
    source_boxes = geometry.boxes_to_source(boxes[keep], plan, from_shapes)
    if from_shapes:
        source_boxes = source_boxes.astype(np.float32).round()
    return [
        Detection(tuple(float(v) for v in box), float(conf), int(cls))  # type: ignore[arg-type]
        for box, conf, cls in zip(source_boxes, confidence[keep], class_index[keep], strict=True)
    ]


class DetectorHandler(Handler):
    content_types = frozenset({"image/jpeg", "image/png", "image/jpg", "application/x-image"})

    def predict(self, body: bytes) -> list[dict[str, Any]]:
        settings = self.config.preprocessing.detector
        assert settings is not None
        labels = self.config.labels
        image = self.decode(body)
        width, height = image.size
        return [
            {
                "x1": round(d.box[0] / width, 6),
                "y1": round(d.box[1] / height, 6),
                "x2": round(d.box[2] / width, 6),
                "y2": round(d.box[3] / height, 6),
                "confidence": round(d.confidence, 6),
                "class": int(labels[d.class_index]),
            }
            for d in detect(image, self.backend, settings, len(labels))
        ]

    def synthetic_request(self) -> bytes:
        return synthetic_jpeg()
