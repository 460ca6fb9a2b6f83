"""Box and image arithmetic of the original Animl handlers, without torch or OpenCV.

Sources (github:tnc-ca-geo/animl-ml): the letterbox, box rescaling and NMS of
api/megadetectorv5/mdv5_handler.py (YOLOv5's own code); the square crop of
api/mirav2/mirav2_handler.py, the SDZWA and DeepFaune handlers (CameraTraps' crop_detections);
the buffered crop of api/nzdoc/nzdoc_handler.py; torchvision's Resize and CenterCrop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from animl_serve.errors import ClientError

LETTERBOX_FILL = 114
PIL_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}

Box = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax as fractions


@dataclass(frozen=True)
class LetterboxPlan:
    """How an image of `source` (width, height) maps onto the model's canvas."""

    source: tuple[int, int]
    ratio: float
    resized: tuple[int, int]
    half_pad: tuple[float, float]  # YOLOv5's (dw / 2, dh / 2), which scale_boxes subtracts
    pad_left: int
    pad_top: int
    canvas: tuple[int, int]


def plan_letterbox(
    width: int,
    height: int,
    canvas: tuple[int, int],
    stride: int,
    fixed: bool,
    scale_up: bool = False,
) -> LetterboxPlan:
    """YOLOv5's letterbox: keep the aspect ratio, enlarge only with scale_up, pad with grey.

    canvas is (height, width). fixed (auto=False) fills the whole canvas; otherwise the padding
    is only what reaches the next multiple of stride.
    """
    canvas_h, canvas_w = canvas
    ratio = min(canvas_h / height, canvas_w / width)
    if not scale_up:
        ratio = min(ratio, 1.0)
    resized = (round(width * ratio), round(height * ratio))
    if min(resized) < 1:
        raise ClientError(
            f"the image is {width}x{height} pixels: at the detector's scale one side is less "
            "than a pixel"
        )
    dw, dh = canvas_w - resized[0], canvas_h - resized[1]
    if not fixed:
        dw, dh = dw % stride, dh % stride
    half_w, half_h = dw / 2, dh / 2
    left, right = round(half_w - 0.1), round(half_w + 0.1)
    top, bottom = round(half_h - 0.1), round(half_h + 0.1)
    size = (resized[0] + left + right, resized[1] + top + bottom)
    return LetterboxPlan((width, height), ratio, resized, (half_w, half_h), left, top, size)


_COEF_SCALE = 2048  # OpenCV's INTER_RESIZE_COEF_SCALE: 11-bit fixed-point weights


def _linear_taps(source: int, target: int) -> tuple[np.ndarray, ...]:
    """OpenCV INTER_LINEAR's two source indices and fixed-point weights per output pixel."""
    position = ((np.arange(target) + 0.5) * (source / target) - 0.5).astype(np.float32)
    first = np.floor(position).astype(np.int64)
    fraction = (position - first).astype(np.float32)
    below, beyond = first < 0, first >= source - 1
    fraction[below | beyond] = 0.0
    first = first.clip(0, source - 1)
    weight1 = np.rint(fraction * _COEF_SCALE).astype(np.int32)
    weight0 = np.rint((np.float32(1) - fraction) * _COEF_SCALE).astype(np.int32)
    return first, np.minimum(first + 1, source - 1), weight0, weight1


def resize_linear_cv2(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An HWC uint8 image resized to (width, height) bit for bit as cv2.resize(INTER_LINEAR)
    does on x86 (its fixed-point weights and vectorised rounding): two taps per axis at
    half-pixel centres, no antialiasing."""
    height, width = pixels.shape[:2]
    x0, x1, a0, a1 = _linear_taps(width, size[0])
    y0, y1, b0, b1 = _linear_taps(height, size[1])

    def horizontal(rows: np.ndarray) -> np.ndarray:  # only the rows the vertical pass reads
        picked = pixels[rows]
        out = picked[:, x0].astype(np.int32) * a0[None, :, None]
        out += picked[:, x1].astype(np.int32) * a1[None, :, None]
        return out >> 4

    top = (b0[:, None, None] * horizontal(y0)) >> 16
    bottom = (b1[:, None, None] * horizontal(y1)) >> 16
    return ((top + bottom + 2) >> 2).clip(0, 255).astype(np.uint8)


def letterbox(image: Image.Image, plan: LetterboxPlan, resize_filter: str) -> np.ndarray:
    """The letterboxed image as an HWC uint8 array of the plan's canvas size."""
    pixels = np.asarray(image)
    if image.size != plan.resized:
        if resize_filter == "cv2-linear":
            pixels = resize_linear_cv2(pixels, plan.resized)
        else:
            pixels = np.asarray(image.resize(plan.resized, Image.Resampling.BILINEAR))
    canvas = np.full((plan.canvas[1], plan.canvas[0], 3), LETTERBOX_FILL, np.uint8)
    canvas[
        plan.pad_top : plan.pad_top + plan.resized[1],
        plan.pad_left : plan.pad_left + plan.resized[0],
    ] = pixels
    return canvas


def boxes_to_source(xyxy: np.ndarray, plan: LetterboxPlan, from_shapes: bool) -> np.ndarray:
    """Canvas pixel boxes back to source pixels, clipped (YOLOv5 scale_boxes). from_shapes
    derives gain and padding from the canvas and image sizes, as scale_boxes without ratio_pad
    does; the MegaDetector v5 handler does that only when the letterbox added no padding."""
    width, height = plan.source
    if from_shapes or plan.half_pad == (0.0, 0.0):
        gain = min(plan.canvas[1] / height, plan.canvas[0] / width)
        pad = ((plan.canvas[0] - width * gain) / 2, (plan.canvas[1] - height * gain) / 2)
    else:
        gain, pad = plan.ratio, plan.half_pad
    boxes = xyxy.astype(np.float64).copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - pad[0]) / gain
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - pad[1]) / gain
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
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
    """Greedy non-maximum suppression (torchvision.ops.nms); kept indices, highest score first.

    Boxes are kept in score order, so stopping at max_keep gives the same first max_keep boxes
    as a full pass, in at most max_keep iterations however many candidates there are.
    """
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    order = scores.argsort(kind="stable")[::-1]
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


def bbox_numbers(value: object) -> list[float]:
    """A request bbox's four numbers, from a list or a string such as "[0,0,1,1]"."""
    if isinstance(value, str):
        text = value.strip().removeprefix("[").removesuffix("]")
        try:
            value = [float(part) for part in text.split(",")]
        except ValueError as exc:
            raise ClientError(f"bbox {_short(value)} is not a list of four numbers") from exc
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise ClientError(f"bbox must be a list of four numbers, got {_short(value)}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ClientError(f"bbox must be a list of four numbers, got {_short(value)}")
    try:
        numbers = [float(v) for v in value]
    except OverflowError as exc:
        raise ClientError(f"bbox {_short(value)} holds a number too large for a box") from exc
    if not all(math.isfinite(v) for v in numbers):
        raise ClientError(f"bbox {numbers} must be finite numbers (no NaN or Infinity)")
    return numbers


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def parse_bbox(value: object, bbox_format: str) -> Box:
    """A request bbox as (xmin, ymin, xmax, ymax) fractions.

    bbox_format "yxyx" is [ymin, xmin, ymax, xmax]; "xywh" is [x, y, width, height]. A string
    such as "[0,0,1,1]" is accepted too, as the original handlers read one with literal_eval.
    """
    value = bbox_numbers(value)
    a, b, c, d = value
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
    return max(xmin, 0.0), max(ymin, 0.0), min(xmax, 1.0), min(ymax, 1.0)


def _too_small(box: Box, size: tuple[int, int]) -> ClientError:
    return ClientError(
        f"bbox {list(box)} (xmin, ymin, xmax, ymax) covers less than a pixel of the "
        f"{size[0]}x{size[1]} image"
    )


def square_crop(image: Image.Image, box: Box) -> Image.Image:
    """CameraTraps' crop_detections: the tightest square around the box, shifted to stay inside
    the image, black where the image is too small to fill it."""
    width, height = image.size
    xmin, ymin, xmax, ymax = box
    left, top = int(xmin * width), int(ymin * height)
    box_w, box_h = int((xmax - xmin) * width), int((ymax - ymin) * height)
    side = max(box_w, box_h)
    if side < 1:
        raise _too_small(box, image.size)
    if side * side > 4 * width * height:
        raise ClientError(
            f"bbox {list(box)} of the {width}x{height} image asks for a {side}x{side} square, "
            "over four times the image: the image is too narrow for a square crop",
            status=413,
        )
    left = max(0, min(left - int((side - box_w) / 2), width - box_w))
    top = max(0, min(top - int((side - box_h) / 2), height - box_h))
    crop_w, crop_h = min(width, side), min(height, side)
    crop = image.crop((left, top, left + crop_w, top + crop_h))
    if crop_w != crop_h:
        crop = ImageOps.pad(crop, size=(side, side), color=0)
    return crop


def buffered_crop(image: Image.Image, box: Box, buffer: float) -> Image.Image:
    """The nzdoc handler's crop: the box grown by `buffer` of the image on each side, clipped."""
    width, height = image.size
    xmin, ymin, xmax, ymax = box
    region = (
        int(max(0.0, xmin - buffer) * width),
        int(max(0.0, ymin - buffer) * height),
        int(min(1.0, xmax + buffer) * width),
        int(min(1.0, ymax + buffer) * height),
    )
    if region[2] <= region[0] or region[3] <= region[1]:
        raise _too_small(box, image.size)
    return image.crop(region)


def box_crop(image: Image.Image, xywh: tuple[float, float, float, float]) -> Image.Image:
    """tf.image.crop_to_bounding_box at int(y * height), int(x * width) of size
    int(h * height) x int(w * width), as SpeciesNet's classifier crops (always_crop)."""
    width, height = image.size
    x, y, w, h = xywh
    left, top = int(x * width), int(y * height)
    crop_w, crop_h = int(w * width), int(h * height)
    if crop_w < 1 or crop_h < 1:
        raise ClientError(
            f"bbox {list(xywh)} (x, y, width, height) covers less than a pixel of the "
            f"{width}x{height} image"
        )
    return image.crop((left, top, left + crop_w, top + crop_h))


def resize_bilinear_tf(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """tf.image.resize(bilinear, half-pixel centres, no antialiasing) of the image as 0..1
    floats, then tf.image.convert_image_dtype back to 8 bits (x 255.5, truncated)."""
    pixels = np.asarray(image, dtype=np.float32) * np.float32(1 / 255)
    height, width = pixels.shape[:2]

    def taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position = (np.arange(target, dtype=np.float32) + np.float32(0.5)) * np.float32(
            source / target
        ) - np.float32(0.5)
        floor = np.floor(position)
        lower = np.maximum(floor, 0).astype(np.int64)
        upper = np.minimum(np.ceil(position), source - 1).astype(np.int64)
        return lower, upper, (position - floor).astype(np.float32)

    x0, x1, wx = taps(width, size[0])
    y0, y1, wy = taps(height, size[1])
    left, right = pixels[:, x0], pixels[:, x1]
    rows = left + (right - left) * wx[None, :, None]
    top, bottom = rows[y0], rows[y1]
    out = top + (bottom - top) * wy[:, None, None]
    return Image.fromarray((out * np.float32(255.5)).astype(np.uint8))


def resize_shorter_then_center_crop(
    image: Image.Image, size: tuple[int, int], resample: Image.Resampling
) -> Image.Image:
    """torchvision Resize(short) then CenterCrop((height, width)) on a PIL image."""
    height, width = size
    short = min(height, width)
    w, h = image.size
    new = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    image = image.resize(new, resample)
    top, left = round((new[1] - height) / 2.0), round((new[0] - width) / 2.0)
    return image.crop((left, top, left + width, top + height))
