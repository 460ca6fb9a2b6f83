"""Crop classifiers: {image, bbox} in, {label: confidence} for the top labels out, as the original
TorchServe handlers answer (image_classifier's postprocess: softmax, then the top 5)."""

from __future__ import annotations

import base64
import json

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
from animl_serve.images import decode_base64

WHOLE_IMAGE = [0, 0, 1, 1]


class CropClassifierHandler(Handler):
    content_types = frozenset({"application/json"})

    def predict(self, body: bytes) -> dict[str, float]:
        settings = self.config.preprocessing.classifier
        assert settings is not None
        request = parse_json_object(body)
        if "image" not in request:
            raise ClientError("the JSON body has no 'image' (a base64 JPEG)")
        # The handlers treat a missing, null or empty bbox as the whole image.
        box = geometry.parse_bbox(request.get("bbox") or WHOLE_IMAGE, settings.bbox_format)
        image = self.decode(decode_base64(request["image"], "image"))
        batch = to_batch(crop_and_resize(image, box, settings), settings)
        scores = class_scores(self.backend.run(batch)[0], self.config)
        labels = self.config.labels
        return {labels[i]: round(float(scores[i]), 6) for i in top_indices(scores, settings.top_k)}

    def synthetic_request(self) -> bytes:
        assert self.config.preprocessing.classifier is not None
        image = base64.b64encode(synthetic_jpeg()).decode()
        xywh = self.config.preprocessing.classifier.bbox_format == "xywh"
        box = [0.2, 0.1, 0.4, 0.6] if xywh else [0.1, 0.2, 0.7, 0.6]
        return json.dumps({"image": image, "bbox": box}).encode()
