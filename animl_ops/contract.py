"""The request and response formats of each model family, as the Animl API uses them."""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from model_registry.schema import ModelSpec

DETECTOR_CLASSES = {1, 2, 3}  # animal, person, vehicle
BOX_KEYS = {"x1", "y1", "x2", "y2", "confidence", "class"}


class BadResponse(ValueError):  # noqa: N818 - reads as the condition it reports
    """The endpoint answered, but not in the format the Animl API reads."""


@dataclass(frozen=True)
class SampleRequest:
    body: bytes
    content_type: str


def sample_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A camera-trap-sized JPEG with some structure, so detectors and classifiers both run."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def sample_request(model: ModelSpec) -> SampleRequest:
    image = sample_jpeg()
    if model.family == "detector":
        return SampleRequest(image, "image/jpeg")
    encoded = base64.b64encode(image).decode()
    if model.family == "speciesnet":
        request = {"image_data": encoded, "bbox": [0, 0, 1, 1], "components": "classifier"}
    else:
        request = {"image": encoded, "bbox": [0, 0, 1, 1]}
    return SampleRequest(json.dumps(request).encode(), "application/json")


def _number(value: Any, where: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise BadResponse(f"{where} is {value!r}, not a number")
    if not low <= value <= high:
        raise BadResponse(f"{where} is {value}, outside {low}..{high}")
    return float(value)


def _detector_labels(response: Any) -> set[str]:
    if not isinstance(response, list):
        raise BadResponse(f"a detector answers a JSON list of boxes, not {type(response).__name__}")
    for i, box in enumerate(response):
        if not isinstance(box, dict) or set(box) != BOX_KEYS:
            raise BadResponse(f"box {i} must have exactly the keys {sorted(BOX_KEYS)}: {box!r}")
        for key in ("x1", "y1", "x2", "y2", "confidence"):
            _number(box[key], f"box {i} {key}")
        if box["x1"] > box["x2"] or box["y1"] > box["y2"]:
            raise BadResponse(f"box {i} is inverted: {box!r}")
        if box["class"] not in DETECTOR_CLASSES:
            raise BadResponse(f"box {i} class is {box['class']!r}, not one of 1, 2, 3")
    return {str(box["class"]) for box in response}


def _classifier_labels(response: Any) -> set[str]:
    if not isinstance(response, dict) or not response:
        raise BadResponse("a crop classifier answers a non-empty JSON object {label: confidence}")
    for label, confidence in response.items():
        _number(confidence, f"the confidence of {label!r}")
    total = sum(response.values())
    if not 0.98 <= total <= 1.02:
        raise BadResponse(f"the confidences add up to {total:.3f}, not 1 (softmax)")
    return set(response)


def _speciesnet_labels(response: Any) -> set[str]:
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list) or not predictions:
        raise BadResponse('SpeciesNet answers {"predictions": [...]} with at least one prediction')
    labels = set()
    for i, prediction in enumerate(predictions):
        classifications = (
            prediction.get("classifications") if isinstance(prediction, dict) else None
        )
        if not isinstance(classifications, dict):
            raise BadResponse(f"prediction {i} has no classifications")
        classes, scores = classifications.get("classes"), classifications.get("scores")
        if (
            not isinstance(classes, list)
            or not isinstance(scores, list)
            or len(classes) != len(scores)
        ):
            raise BadResponse(f"prediction {i}: classes and scores must be lists of one length")
        for label, score in zip(classes, scores, strict=True):
            _number(score, f"prediction {i} score of {label!r}")
        if "prediction" not in prediction:
            raise BadResponse(f"prediction {i} has no 'prediction'")
        labels |= set(classes) | {prediction["prediction"]}
    return labels


def response_labels(model: ModelSpec, body: bytes) -> set[str]:
    """Checks a response against the family's format and returns the labels it names."""
    try:
        response = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadResponse(f"the response is not JSON: {body[:80]!r}") from error
    check = {
        "detector": _detector_labels,
        "crop-classifier": _classifier_labels,
        "speciesnet": _speciesnet_labels,
    }[model.family]
    return check(response)
