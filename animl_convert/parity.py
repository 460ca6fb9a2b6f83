"""How closely one graph answers as a reference does, on the same inputs: the largest output
difference, and what Animl reads from the outputs (a classifier's top-1, a detector's boxes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from animl_contract.conversion import BOX_MATCH_IOU, Agreement
from animl_contract.preprocessing import DetectorSettings
from animl_serve.geometry import nms, xywh_center_to_xyxy


@dataclass(frozen=True)
class Boxes:
    xyxy: np.ndarray
    classes: np.ndarray


def detections(prediction: np.ndarray, settings: DetectorSettings, threshold: float) -> Boxes:
    """One image's YOLOv5 output (N, 5 + classes) -> boxes at or above `threshold` after NMS."""
    scores = prediction[:, 4:5] * prediction[:, 5:]
    best = scores.argmax(axis=1)
    confidence = scores[np.arange(len(scores)), best]
    keep = confidence >= threshold
    xyxy = xywh_center_to_xyxy(prediction[keep, :4])
    kept = nms(xyxy, confidence[keep], settings.iou_threshold, settings.max_detections)
    return Boxes(xyxy[kept], best[keep][kept])


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def matched(reference: Boxes, candidate: Boxes) -> int:
    """Greedy one-to-one matches of the same class at IoU >= BOX_MATCH_IOU."""
    if not len(reference.xyxy) or not len(candidate.xyxy):
        return 0
    iou = _iou(reference.xyxy, candidate.xyxy)
    iou[reference.classes[:, None] != candidate.classes[None, :]] = 0
    count = 0
    while iou.size and iou.max() >= BOX_MATCH_IOU:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        iou[i, :] = 0
        iou[:, j] = 0
        count += 1
    return count


def agreement(
    reference_name: str,
    reference: list[np.ndarray],
    candidate: list[np.ndarray],
    input_source: str,
    detector: tuple[DetectorSettings, float] | None = None,
) -> Agreement:
    """detector: the settings and the confidence threshold above which boxes are compared;
    without it the first output is a classifier's scores."""
    diff = max(float(np.max(np.abs(r - c))) for r, c in zip(reference, candidate, strict=True))
    scale = max(float(np.max(np.abs(r))) for r in reference)
    first_ref, first_new = reference[0], candidate[0]
    fields: dict[str, float | int] = {}
    if detector is None:
        same = first_ref.argmax(axis=-1) == first_new.argmax(axis=-1)
        fields["top1_agreement"] = float(np.mean(same))
    else:
        settings, threshold = detector
        pairs = [
            (detections(r, settings, threshold), detections(c, settings, threshold))
            for r, c in zip(first_ref, first_new, strict=True)
        ]
        hits = sum(matched(r, c) for r, c in pairs)
        found_ref = sum(len(r.xyxy) for r, _ in pairs)
        found_new = sum(len(c.xyxy) for _, c in pairs)
        total = found_ref + found_new
        fields["box_f1"] = 1.0 if total == 0 else 2 * hits / total
        fields["reference_boxes"] = found_ref
    return Agreement(
        reference=reference_name,
        inputs=len(first_ref),
        input_source=input_source,  # type: ignore[arg-type]
        max_abs_diff=diff,
        output_scale=scale,
        relative_diff=diff / scale if scale else diff,
        **fields,  # type: ignore[arg-type]
    )
