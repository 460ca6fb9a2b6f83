"""Crop classifiers: {image, bbox} in, {label: confidence} out."""

from __future__ import annotations

import base64
import json

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
from animl_serve.images import decode_base64, decode_image

WHOLE_IMAGE = [0, 0, 1, 1]


class CropClassifierHandler(Handler):
    content_types = frozenset({"application/json"})

    def predict(self, body: bytes) -> dict[str, float]:
        request = parse_json_object(body)
        if "image" not in request:
            raise ClientError("the JSON body has no 'image' (a base64 JPEG)")
        box = geometry.parse_bbox(request.get("bbox", WHOLE_IMAGE), self.config.bbox_format)
        height, width = self.config.input_size

        def scale(size: tuple[int, int]) -> float:
            return max(height, width) / geometry.plan_square_crop(box, *size).side

        data = decode_base64(request["image"], "image")
        image = decode_image(data, self.limits.max_image_pixels, scale)
        crop = geometry.square_crop(image, geometry.plan_square_crop(box, *image.size))
        batch = to_batch(crop.resize((width, height), Image.Resampling.BILINEAR), self.config)
        scores = class_scores(self.backend.run(batch)[0], self.config)
        ranked = sorted(zip(self.config.labels, scores, strict=True), key=lambda pair: -pair[1])
        return {label: round(float(score), 6) for label, score in ranked}

    def synthetic_request(self) -> bytes:
        image = base64.b64encode(synthetic_jpeg()).decode()
        box = [0.1, 0.2, 0.7, 0.6] if self.config.bbox_format == "yxyx" else [0.2, 0.1, 0.4, 0.6]
        return json.dumps({"image": image, "bbox": box}).encode()
