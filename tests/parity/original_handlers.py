"""Ports of Animl's original TorchServe handlers, for parity tests: the same pre- and
post-processing, with torch and torchvision replaced by what they do on a PIL image.

Sources, github:tnc-ca-geo/animl-ml (read at commit 7fe000c, 2025-04-16):
- api/mirav2/mirav2_handler.py, api/sdzwa-andesv1/sdzwa-andesv1_handler.py,
  api/sdzwa-southwestv3/sdzwa-southwestv3_handler.py, api/deepfaune-ne/deepfaune-ne_handler.py:
  `crop` (CameraTraps' crop_detections) and a torchvision Compose;
- api/nzdoc/nzdoc_handler.py: `crop_and_resize` and albumentations Normalize;
- api/megadetectorv5/mdv5_handler.py: `load_image`, `letterbox` (OpenCV), `non_max_suppression`,
  `scale_boxes`;
- TorchServe's ts/torch_handler/image_classifier.py postprocess: softmax, then the top 5.

torchvision on a PIL image: Resize((h, w)) is image.resize((w, h), filter) (default bilinear);
Resize(n) sets the shorter side to n and the longer to int(n * long / short); CenterCrop rounds
the offsets with int(round(...)); ToTensor is HWC / 255 as CHW.
"""

from __future__ import annotations

import base64
import io
import json
from ast import literal_eval

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

IMAGENET_MEAN = np.asarray([0.485, 0.456, 0.406])
IMAGENET_STD = np.asarray([0.229, 0.224, 0.225])


# --- the classifier handlers ------------------------------------------------------------------


def read_request(body: bytes) -> tuple[Image.Image, list[float]]:
    """The shared preprocess loop: JSON, bbox (a string through literal_eval), RGB."""
    data = json.loads(body)
    bbox = [0, 0, 1, 1]
    if data.get("bbox"):
        bbox = data["bbox"]
        if isinstance(bbox, str):
            bbox = literal_eval(bbox)
    image = Image.open(io.BytesIO(base64.b64decode(data["image"])))
    if image.mode != "RGB":
        image = image.convert(mode="RGB")
    return image, bbox


def crop(img: Image.Image, bbox_rel: list[float]) -> Image.Image:
    """`crop` of the mirav2, SDZWA and DeepFaune handlers, line for line."""
    img_w, img_h = img.size
    xmin = int(bbox_rel[1] * img_w)
    ymin = int(bbox_rel[0] * img_h)
    box_w = int((bbox_rel[3] - bbox_rel[1]) * img_w)
    box_h = int((bbox_rel[2] - bbox_rel[0]) * img_h)
    box_size = max(box_w, box_h)
    xmin = max(0, min(xmin - int((box_size - box_w) / 2), img_w - box_w))
    ymin = max(0, min(ymin - int((box_size - box_h) / 2), img_h - box_h))
    box_w = min(img_w, box_size)
    box_h = min(img_h, box_size)
    cropped = img.crop(box=[xmin, ymin, xmin + box_w, ymin + box_h])
    if box_w != box_h:
        cropped = ImageOps.pad(cropped, size=(box_size, box_size), color=0)
    return cropped


def crop_and_resize(img: Image.Image, bbox_rel: list[float], out_size=480, image_buffer=0.1):
    """`crop_and_resize` of the nzdoc handler, line for line."""
    img_w, img_h = img.size
    left, top, right, bottom = bbox_rel[1], bbox_rel[0], bbox_rel[3], bbox_rel[2]
    left = max(0, left - image_buffer)
    top = max(0, top - image_buffer)
    right = min(1, right + image_buffer)
    bottom = min(1, bottom + image_buffer)
    img = img.crop((int(left * img_w), int(top * img_h), int(right * img_w), int(bottom * img_h)))
    return img.resize((out_size, out_size), resample=3)


def _to_tensor(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0


def _normalize(tensor: np.ndarray) -> np.ndarray:
    return ((tensor - IMAGENET_MEAN[:, None, None]) / IMAGENET_STD[:, None, None]).astype(
        np.float32
    )


def _resize_short_center_crop(image: Image.Image, size: int, resample) -> Image.Image:
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), resample)
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def mirav2_input(body: bytes) -> np.ndarray:
    """crop; Resize(300, BICUBIC); CenterCrop(300); ToTensor; Normalize(ImageNet)."""
    image, bbox = read_request(body)
    image = _resize_short_center_crop(crop(image, bbox), 300, Image.BICUBIC)
    return _normalize(_to_tensor(image))


def sdzwa_input(body: bytes) -> np.ndarray:
    """crop; Resize((299, 299)); ToTensor; no normalization."""
    image, bbox = read_request(body)
    return _to_tensor(crop(image, bbox).resize((299, 299), Image.BILINEAR))


def deepfaune_input(body: bytes) -> np.ndarray:
    """crop; Resize((182, 182)); ToTensor; Normalize(ImageNet)."""
    image, bbox = read_request(body)
    return _normalize(_to_tensor(crop(image, bbox).resize((182, 182), Image.BILINEAR)))


def nzdoc_input(body: bytes) -> np.ndarray:
    """crop_and_resize; albumentations Normalize (pixel / 255 - mean) / std; ToTensorV2."""
    image, bbox = read_request(body)
    pixels = np.asarray(crop_and_resize(image, bbox), dtype=np.float32) / 255.0
    return ((pixels - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32).transpose(2, 0, 1)


def image_classifier_postprocess(logits: np.ndarray, labels: list[str], topk: int = 5) -> dict:
    """TorchServe image_classifier: softmax over the logits, then torch.topk and the labels."""
    exp = np.exp(logits - logits.max())
    probabilities = exp / exp.sum()
    order = np.argsort(-probabilities, kind="stable")[:topk]
    return {labels[i]: float(probabilities[i]) for i in order}


def classify(session: ort.InferenceSession, tensor: np.ndarray, labels: list[str]) -> dict:
    logits = session.run(None, {session.get_inputs()[0].name: tensor[None]})[0][0]
    return image_classifier_postprocess(logits.astype(np.float64), labels)


# --- the MegaDetector v5 handler --------------------------------------------------------------


def load_image(data: bytes) -> Image.Image:
    """open_image + load: RGBA and L become RGB; the EXIF rotation it attempts raises a
    NameError (IMAGE_ROTATIONS is never defined) that its bare except swallows."""
    image = Image.open(io.BytesIO(data))
    if image.mode not in ("RGBA", "RGB", "L", "I;16"):
        raise AttributeError(f"unsupported mode {image.mode}")
    if image.mode in ("RGBA", "L"):
        image = image.convert(mode="RGB")
    image.load()
    return image


def letterbox(im, new_shape=(960, 1280), color=(114, 114, 114), stride=64):
    """YOLOv5 letterbox with auto=False, scaleFill=False, scaleup=False, as the handler calls it."""
    shape = im.shape[:2]
    r = min(min(new_shape[0] / shape[0], new_shape[1] / shape[1]), 1.0)
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    dw /= 2
    dh /= 2
    if shape[::-1] != new_unpad:
        im = cv2.resize(im, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    im = cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT, value=color)
    return im, (r, r), (dw, dh)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[2], others[:, 2])
    y2 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def non_max_suppression(prediction: np.ndarray, conf_thres=0.0005, iou_thres=0.45, max_det=1000):
    """The handler's non_max_suppression for one image, best class only, torchvision's nms."""
    x = prediction[0]
    x = x[x[:, 4] > conf_thres]
    if not len(x):
        return np.zeros((0, 6))
    x = x.copy()
    x[:, 5:] *= x[:, 4:5]
    box = np.empty((len(x), 4))
    box[:, 0] = x[:, 0] - x[:, 2] / 2
    box[:, 1] = x[:, 1] - x[:, 3] / 2
    box[:, 2] = x[:, 0] + x[:, 2] / 2
    box[:, 3] = x[:, 1] + x[:, 3] / 2
    conf = x[:, 5:].max(1)
    j = x[:, 5:].argmax(1)
    x = np.concatenate([box, conf[:, None], j[:, None].astype(float)], 1)[conf > conf_thres]
    if len(x) > 30000:
        x = x[np.argsort(-x[:, 4])[:30000]]
    boxes = x[:, :4] + x[:, 5:6] * 4096
    order = list(np.argsort(-x[:, 4], kind="stable"))
    keep = []
    while order:
        best = order.pop(0)
        keep.append(best)
        if order:
            ious = _iou(boxes[best], boxes[order])
            order = [o for o, iou in zip(order, ious, strict=True) if iou <= iou_thres]
    return x[keep[:max_det]]


def scale_boxes(img1_shape, boxes, img0_shape, ratio_pad=None):
    if ratio_pad is None:
        gain = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
        pad = (img1_shape[1] - img0_shape[1] * gain) / 2, (img1_shape[0] - img0_shape[0] * gain) / 2
    else:
        gain = ratio_pad[0][0]
        pad = ratio_pad[1]
    boxes[..., [0, 2]] -= pad[0]
    boxes[..., [1, 3]] -= pad[1]
    boxes[..., :4] /= gain
    boxes[..., [0, 2]] = boxes[..., [0, 2]].clip(0, img0_shape[1])
    boxes[..., [1, 3]] = boxes[..., [1, 3]].clip(0, img0_shape[0])
    return boxes


def megadetector(session: ort.InferenceSession, data: bytes) -> list[dict]:
    """preprocess, inference and postprocess of mdv5_handler.py for one request body."""
    image = np.asarray(load_image(data))
    original = image.shape
    canvas, ratio, dw_dh = letterbox(image)
    tensor = np.ascontiguousarray(canvas.transpose((2, 0, 1))).astype(np.float32)[None] / 255
    output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    detections = []
    for det in non_max_suppression(output):
        if dw_dh[0] == 0 and dw_dh[1] == 0:
            det[:4] = scale_boxes(canvas.shape, det[:4], original)
        else:
            det[:4] = scale_boxes(canvas.shape, det[:4], original, (ratio, dw_dh))
        detections.append(
            {
                "x1": det[0] / original[1],
                "y1": det[1] / original[0],
                "x2": det[2] / original[1],
                "y2": det[3] / original[0],
                "confidence": float(det[4]),
                "class": int(det[5]) + 1,
            }
        )
    return detections
