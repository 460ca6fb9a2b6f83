"""SpeciesNet-style: {image_data, bbox [x, y, w, h], components} in, SpeciesNet's output schema out.

The classifier sees the bbox crop (not squared) at 480x480, RGB, channels-last, scaled by 1/255.
With components "all" and a detector.onnx in the artifact, the detector runs first and its
detections are returned too; without a bbox the classifier then sees the top detection. The
geofence and the taxonomic roll-up of Google's ensemble are not applied here: the calling API
applies its own rules to the returned classifications.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from PIL import Image

from animl_serve import geometry
from animl_serve.errors import ClientError
from animl_serve.handlers.base import (
    Handler,
    class_scores,
    parse_json_object,
    synthetic_jpeg,
    to_batch,
)
from animl_serve.handlers.detector import detect, letterbox_scale
from animl_serve.images import ScaleHint, decode_base64, decode_image
from animl_serve.model_config import ModelClass, ModelConfig

COMPONENTS = ("all", "classifier")
TOP_CLASSES = 5
DETECTOR_CONFIG = ModelConfig(
    family="detector",
    input_size=(1280, 1280),
    classes=(ModelClass("1", "animal"), ModelClass("2", "human"), ModelClass("3", "vehicle")),
    confidence_threshold=0.01,
)


def _optional_text(request: dict[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise ClientError(f"{key} must be a string")
    return value


class SpeciesNetHandler(Handler):
    content_types = frozenset({"application/json"})

    def predict(self, body: bytes) -> dict[str, Any]:
        request = parse_json_object(body)
        if "image_data" not in request:
            raise ClientError("the JSON body has no 'image_data' (a base64 JPEG)")
        components = request.get("components", "all")
        if components not in COMPONENTS:
            raise ClientError(f"components is {components!r}; expected one of {list(COMPONENTS)}")
        if components == "all" and self.detector is None:
            raise ClientError(
                "components 'all' needs a detector, and this artifact has none; use 'classifier'"
            )
        country = _optional_text(request, "country")
        admin1_region = _optional_text(request, "admin1_region")
        box = None if request.get("bbox") is None else geometry.parse_bbox(request["bbox"], "xywh")
        data = decode_base64(request["image_data"], "image_data")
        image = decode_image(data, self.limits.max_image_pixels, self._scale(components, box))

        prediction: dict[str, Any] = {}
        if components == "all":
            detections = detect(image, self.detector, DETECTOR_CONFIG)  # type: ignore[arg-type]
            prediction["detections"] = [
                {
                    "category": DETECTOR_CONFIG.classes[d.class_index].id,
                    "label": DETECTOR_CONFIG.classes[d.class_index].name,
                    "conf": round(d.confidence, 6),
                    "bbox": [
                        round(d.box[0], 6),
                        round(d.box[1], 6),
                        round(d.box[2] - d.box[0], 6),
                        round(d.box[3] - d.box[1], 6),
                    ],
                }
                for d in detections
            ]
            if box is None and detections:
                box = detections[0].box

        crop = image if box is None else image.crop(self._pixels(box, image.size))
        height, width = self.config.input_size
        batch = to_batch(crop.resize((width, height), Image.Resampling.BILINEAR), self.config)
        scores = class_scores(self.backend.run(batch)[0], self.config)
        top = scores.argsort()[::-1][:TOP_CLASSES]
        labels = self.config.labels
        prediction |= {
            "classifications": {
                "classes": [labels[i] for i in top],
                "scores": [round(float(scores[i]), 6) for i in top],
            },
            "prediction": labels[top[0]],
            "prediction_score": round(float(scores[top[0]]), 6),
            "prediction_source": "classifier",
            "model_version": self.config.version,
        }
        if country is not None:
            prediction["country"] = country
        if admin1_region is not None:
            prediction["admin1_region"] = admin1_region
        return {"predictions": [prediction]}

    def _scale(self, components: str, box: tuple[float, float, float, float] | None) -> ScaleHint:
        """The detector's letterbox ratio for "all"; else what keeps the crop at the input size."""
        if components == "all":
            return letterbox_scale(self.detector, DETECTOR_CONFIG)  # type: ignore[arg-type]
        xmin, ymin, xmax, ymax = box or (0.0, 0.0, 1.0, 1.0)
        height, width = self.config.input_size
        return lambda size: max(
            width / ((xmax - xmin) * size[0]), height / ((ymax - ymin) * size[1])
        )

    @staticmethod
    def _pixels(
        box: tuple[float, float, float, float], size: tuple[int, int]
    ) -> tuple[int, int, int, int]:
        width, height = size
        left, top = int(box[0] * width), int(box[1] * height)
        return left, top, max(left + 1, round(box[2] * width)), max(top + 1, round(box[3] * height))

    def synthetic_request(self) -> bytes:
        image = base64.b64encode(synthetic_jpeg()).decode()
        components = "all" if self.detector is not None else "classifier"
        return json.dumps(
            {"image_data": image, "bbox": [0.2, 0.1, 0.5, 0.6], "components": components}
        ).encode()
