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

from animl_contract.preprocessing import DetectorSettings
from animl_serve import geometry
from animl_serve.errors import ClientError
from animl_serve.handlers.base import (
    Handler,
    class_scores,
    crop_and_resize,
    parse_json_object,
    synthetic_jpeg,
    to_batch,
    top_indices,
)
from animl_serve.handlers.detector import detect
from animl_serve.images import decode_base64

COMPONENTS = ("all", "classifier")
DETECTOR_LABELS = (("1", "animal"), ("2", "human"), ("3", "vehicle"))


def _optional_text(request: dict[str, Any], key: str) -> str | None:
    value = request.get(key)
    if value is not None and not isinstance(value, str):
        raise ClientError(f"{key} must be a string")
    return value


class SpeciesNetHandler(Handler):
    content_types = frozenset({"application/json"})

    def predict(self, body: bytes) -> dict[str, Any]:
        settings = self.config.preprocessing.classifier
        assert settings is not None
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
        image = self.decode(decode_base64(request["image_data"], "image_data"))

        prediction: dict[str, Any] = {}
        if components == "all":
            detections = detect(
                image,
                self.detector,  # type: ignore[arg-type]
                self.config.preprocessing.detector or DetectorSettings(),
                len(DETECTOR_LABELS),
            )
            prediction["detections"] = [
                {
                    "category": DETECTOR_LABELS[d.class_index][0],
                    "label": DETECTOR_LABELS[d.class_index][1],
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

        crop = crop_and_resize(image, box or (0.0, 0.0, 1.0, 1.0), settings)
        scores = class_scores(self.backend.run(to_batch(crop, settings))[0], self.config)
        top = top_indices(scores, settings.top_k)
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

    def synthetic_request(self) -> bytes:
        image = base64.b64encode(synthetic_jpeg()).decode()
        components = "all" if self.detector is not None else "classifier"
        return json.dumps(
            {"image_data": image, "bbox": [0.2, 0.1, 0.5, 0.6], "components": components}
        ).encode()
