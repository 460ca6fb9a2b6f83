"""The shape of each family's answer, checked strictly, before the Animl API's reading of it."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from PIL import Image

BOX_KEYS = {"x1", "y1", "x2", "y2", "confidence", "class"}


class BadResponse(ValueError):  # noqa: N818 - reads as the condition it reports
    """The endpoint answered, but not in the format the Animl API reads."""


def sample_image(width: int = 640, height: int = 480) -> bytes:
    """A camera-trap-sized JPEG with some structure, so detectors and classifiers both run."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _number(value: Any, where: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise BadResponse(f"{where} is {value!r}, not a number")
    if not low <= value <= high:
        raise BadResponse(f"{where} is {value}, outside {low}..{high}")
    return float(value)


def _detector(response: Any) -> None:
    if not isinstance(response, list):
        raise BadResponse(f"a detector answers a JSON list of boxes, not {type(response).__name__}")
    for i, box in enumerate(response):
        if not isinstance(box, dict) or set(box) != BOX_KEYS:
            raise BadResponse(f"box {i} must have exactly the keys {sorted(BOX_KEYS)}: {box!r}")
        for key in ("x1", "y1", "x2", "y2", "confidence"):
            _number(box[key], f"box {i} {key}")
        if box["x1"] > box["x2"] or box["y1"] > box["y2"]:
            raise BadResponse(f"box {i} is inverted: {box!r}")
        if isinstance(box["class"], bool) or not isinstance(box["class"], int):
            raise BadResponse(f"box {i} class is {box['class']!r}, not a class number")


def _classifier(response: Any) -> None:
    if not isinstance(response, dict) or not response:
        raise BadResponse("a crop classifier answers a non-empty JSON object {label: confidence}")
    for label, confidence in response.items():
        _number(confidence, f"the confidence of {label!r}")
    if sum(response.values()) > 1.0001:
        raise BadResponse(f"the confidences add up to {sum(response.values()):.4f}, over 1")


def _speciesnet(response: Any) -> None:
    predictions = response.get("predictions") if isinstance(response, dict) else None
    if not isinstance(predictions, list) or not predictions:
        raise BadResponse('SpeciesNet answers {"predictions": [...]} with at least one prediction')
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
        if "detections" not in prediction:
            continue  # components 'classifier': the classifications alone, as the package
        if not isinstance(prediction.get("prediction"), str):
            raise BadResponse(f"prediction {i} has no 'prediction' label")
        _number(prediction.get("prediction_score"), f"prediction {i} prediction_score")


CHECKS = {"detector": _detector, "crop-classifier": _classifier, "speciesnet": _speciesnet}


def check_format(family: str, body: bytes) -> Any:
    """The parsed answer, if it has the family's shape; BadResponse otherwise."""
    try:
        response = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadResponse(f"the response is not JSON: {body[:80]!r}") from error
    CHECKS[family](response)
    return response
