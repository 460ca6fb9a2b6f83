"""Box and image arithmetic shared by the handlers: letterbox, rescaling, NMS, square crops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from animl_serve.errors import ClientError

LETTERBOX_FILL = (114, 114, 114)


@dataclass(frozen=True)
class LetterboxPlan:
    """How an image of `source` (width, height) maps onto the model input `canvas`."""

    source: tuple[int, int]
    ratio: float
    resized: tuple[int, int]
    pad_left: int
    pad_top: int
    canvas: tuple[int, int]


def plan_letterbox(
    width: int,
    height: int,
    target: tuple[int, int],
    stride: int,
    pad_to_stride_only: bool,
    scale_up: bool = False,
) -> LetterboxPlan:
    """YOLOv5's letterbox: keep the aspect ratio, never enlarge (unless scale_up), then pad.

    target is (height, width). With pad_to_stride_only the canvas is the smallest stride multiple
    around the resized image (a model with dynamic input size); otherwise it is the target.
    """
    target_h, target_w = target
    ratio = min(target_h / height, target_w / width)
    if not scale_up:
        ratio = min(ratio, 1.0)
    resized = (round(width * ratio), round(height * ratio))
    dw, dh = target_w - resized[0], target_h - resized[1]
    if pad_to_stride_only:
        dw, dh = dw % stride, dh % stride
    half_w, half_h = dw / 2, dh / 2
    left, right = round(half_w - 0.1), round(half_w + 0.1)
    top, bottom = round(half_h - 0.1), round(half_h + 0.1)
    canvas = (resized[0] + left + right, resized[1] + top + bottom)
    return LetterboxPlan((width, height), ratio, resized, left, top, canvas)


def letterbox(image: Image.Image, plan: LetterboxPlan) -> np.ndarray:
    """The letterboxed image as an HWC uint8 array of the plan's canvas size."""
    if image.size != plan.resized:
        image = image.resize(plan.resized, Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", plan.canvas, LETTERBOX_FILL)
    canvas.paste(image, (plan.pad_left, plan.pad_top))
    return np.asarray(canvas)


def boxes_to_source(xyxy: np.ndarray, plan: LetterboxPlan) -> np.ndarray:
    """Canvas pixel boxes back to the source image, clipped, as fractions of its size."""
    width, height = plan.source
    boxes = xyxy.astype(np.float64).copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - plan.pad_left) / plan.ratio
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - plan.pad_top) / plan.ratio
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width) / width
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height) / height
    return boxes


def xywh_center_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    out = np.empty_like(boxes)
    out[:, 0] = boxes[:, 0] - boxes[:, 2] / 2
    out[:, 1] = boxes[:, 1] - boxes[:, 3] / 2
    out[:, 2] = boxes[:, 0] + boxes[:, 2] / 2
    out[:, 3] = boxes[:, 1] + boxes[:, 3] / 2
    return out


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int | None = None
) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, highest score first.

    Boxes are kept in score order, so stopping at max_keep gives the same first max_keep boxes
    as a full pass, in at most max_keep iterations however many candidates there are.
    """
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size and (max_keep is None or len(keep) < max_keep):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = (np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])).clip(0)
        h = (np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])).clip(0)
        inter = w * h
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def parse_bbox(value: object, bbox_format: str) -> tuple[float, float, float, float]:
    """A request bbox as (xmin, ymin, xmax, ymax) fractions.

    bbox_format "yxyx" is [ymin, xmin, ymax, xmax]; "xywh" is [x, y, width, height]. A string
    such as "[0,0,1,1]" is accepted too, as the Animl API sometimes sends one.
    """
    if isinstance(value, str):
        text = value.strip().removeprefix("[").removesuffix("]")
        try:
            value = [float(part) for part in text.split(",")]
        except ValueError as exc:
            raise ClientError(f"bbox {value!r} is not a list of four numbers") from exc
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise ClientError(f"bbox must be a list of four numbers, got {value!r}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ClientError(f"bbox must be a list of four numbers, got {value!r}")
    a, b, c, d = (float(v) for v in value)
    if bbox_format == "xywh":
        xmin, ymin, xmax, ymax = a, b, a + c, b + d
        shape = "[x, y, width, height]"
    else:
        ymin, xmin, ymax, xmax = a, b, c, d
        shape = "[ymin, xmin, ymax, xmax]"
    eps = 1e-6
    if min(xmin, ymin) < -eps or max(xmax, ymax) > 1 + eps:
        raise ClientError(f"bbox {list(value)} must lie within 0..1 ({shape}, relative)")
    if xmax <= xmin or ymax <= ymin:
        raise ClientError(f"bbox {list(value)} is empty or inverted ({shape})")
    return xmin, ymin, min(xmax, 1.0), min(ymax, 1.0)


@dataclass(frozen=True)
class SquareCrop:
    side: int
    region: tuple[int, int, int, int]  # left, top, right, bottom in the image
    offset: tuple[int, int]  # where the region lands on the side x side canvas


def plan_square_crop(box: tuple[float, float, float, float], width: int, height: int) -> SquareCrop:
    """The tightest square around the box, centred on it, limited to the image."""
    xmin, ymin, xmax, ymax = box
    left, right, top, bottom = xmin * width, xmax * width, ymin * height, ymax * height
    side = max(1, round(max(right - left, bottom - top)))
    square_left = round((left + right) / 2 - side / 2)
    square_top = round((top + bottom) / 2 - side / 2)
    region = (
        max(0, square_left),
        max(0, square_top),
        min(width, square_left + side),
        min(height, square_top + side),
    )
    return SquareCrop(side, region, (region[0] - square_left, region[1] - square_top))


def square_crop(image: Image.Image, plan: SquareCrop) -> Image.Image:
    """The planned square, black where it extends beyond the image."""
    canvas = Image.new("RGB", (plan.side, plan.side), (0, 0, 0))
    canvas.paste(image.crop(plan.region), plan.offset)
    return canvas
