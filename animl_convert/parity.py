"""How closely one graph answers as a reference does, on the same inputs: the largest output
difference, and what Animl reads from the outputs (a classifier's top-1, a detector's boxes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from animl_contract.conversion import (
    BOX_MATCH_IOU,
    FP32_MAX_BOX_DIFF,
    FP32_MAX_PROBABILITY_DIFF,
    Agreement,
)
from animl_contract.preprocessing import DetectorSettings
from animl_serve.geometry import nms, xywh_center_to_xyxy


@dataclass(frozen=True)
class Boxes:
    xyxy: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray


def detections(prediction: np.ndarray, settings: DetectorSettings, threshold: float) -> Boxes:
    """One image's YOLOv5 output (N, 5 + classes) -> boxes at or above `threshold` after NMS."""
    scores = prediction[:, 4:5] * prediction[:, 5:]
    best = scores.argmax(axis=1)
    confidence = scores[np.arange(len(scores)), best]
    keep = confidence >= threshold
    xyxy = xywh_center_to_xyxy(prediction[keep, :4])
    kept = nms(xyxy, confidence[keep], settings.iou_threshold, settings.max_detections)
    return Boxes(xyxy[kept], best[keep][kept], confidence[keep][kept])


def probabilities(scores: np.ndarray, output: str = "logits") -> np.ndarray:
    """What the endpoint answers from a classifier's scores: softmax of logits, per image."""
    if output == "probabilities":
        return scores
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def matched(reference: Boxes, candidate: Boxes) -> list[tuple[int, int]]:
    """Greedy one-to-one matches of the same class at IoU >= BOX_MATCH_IOU, as index pairs."""
    if not len(reference.xyxy) or not len(candidate.xyxy):
        return []
    iou = _iou(reference.xyxy, candidate.xyxy)
    iou[reference.classes[:, None] != candidate.classes[None, :]] = 0
    pairs = []
    while iou.size and iou.max() >= BOX_MATCH_IOU:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        iou[i, :] = 0
        iou[:, j] = 0
        pairs.append((int(i), int(j)))
    return pairs


def agreement(
    reference_name: str,
    reference: list[np.ndarray],
    candidate: list[np.ndarray],
    input_source: str,
    detector: tuple[DetectorSettings, float] | None = None,
    output: str = "logits",
) -> Agreement:
    """detector: the settings and the confidence threshold above which boxes are compared;
    without it the first output is a classifier's scores, `output` (logits or probabilities)."""
    diff = max(float(np.max(np.abs(r - c))) for r, c in zip(reference, candidate, strict=True))
    scale = max(float(np.max(np.abs(r))) for r in reference)
    first_ref, first_new = reference[0], candidate[0]
    fields: dict[str, float | int] = {}
    if detector is None:
        same = first_ref.argmax(axis=-1) == first_new.argmax(axis=-1)
        fields["top1_agreement"] = float(np.mean(same))
        moved = probabilities(first_ref, output) - probabilities(first_new, output)
        fields["max_probability_diff"] = float(np.max(np.abs(moved)))
    else:
        settings, threshold = detector
        canvas = float(max(settings.canvas))
        hits = found_ref = found_new = 0
        confidence_diff = box_diff = 0.0
        for r, c in zip(first_ref, first_new, strict=True):
            ours, theirs = detections(r, settings, threshold), detections(c, settings, threshold)
            pairs = matched(ours, theirs)
            hits, found_ref, found_new = (
                hits + len(pairs),
                found_ref + len(ours.xyxy),
                found_new + len(theirs.xyxy),
            )
            for i, j in pairs:
                confidence_diff = max(
                    confidence_diff, abs(float(ours.confidence[i] - theirs.confidence[j]))
                )
                box_diff = max(
                    box_diff, float(np.max(np.abs(ours.xyxy[i] - theirs.xyxy[j]))) / canvas
                )
        total = found_ref + found_new
        fields["box_f1"] = 1.0 if total == 0 else 2 * hits / total
        fields["reference_boxes"] = found_ref
        fields["max_confidence_diff"] = confidence_diff
        fields["max_box_diff"] = box_diff
    return Agreement(
        reference=reference_name,
        inputs=len(first_ref),
        input_source=input_source,  # type: ignore[arg-type]
        max_abs_diff=diff,
        output_scale=scale,
        relative_diff=diff / scale if scale else diff,
        **fields,  # type: ignore[arg-type]
    )


def fp32_problem(measured: Agreement) -> str | None:
    """Why the FP32 graph does not answer as its source, where Animl reads it; None if it does."""
    if measured.max_probability_diff is not None:
        if measured.max_probability_diff > FP32_MAX_PROBABILITY_DIFF:
            return (f"its probabilities differ from the source's by up to "
                    f"{measured.max_probability_diff:.2e} (at most {FP32_MAX_PROBABILITY_DIFF:.0e})")  # fmt: skip
        return None
    if measured.box_f1 is not None and measured.box_f1 < 1.0:
        return (
            f"its boxes above the threshold match the source's with F1 {measured.box_f1:.3f}, not 1"
        )
    worst = max(measured.max_confidence_diff or 0.0, measured.max_box_diff or 0.0)
    if worst > FP32_MAX_BOX_DIFF:
        return (f"its matched boxes differ from the source's by up to {worst:.2e} in confidence "
                f"or coordinates (share of the canvas; at most {FP32_MAX_BOX_DIFF:.0e})")  # fmt: skip
    return None
