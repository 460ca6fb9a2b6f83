"""SpeciesNet as Animl's endpoint serves it: {image_data, bbox [x, y, w, h], components, country?,
admin1_region?} in, the `speciesnet` package's prediction out (github:google/cameratrapai 4.0.1).

components 'all': the detector (MegaDetector at 1280, scale-up, 0.01 minimum), then the classifier
on the top detection's crop (the whole image without a detection; a request's box is validated and
otherwise ignored, as the package takes none), then the ensemble: detector thresholds, roll-up and
geofence (speciesnet_ensemble).
components 'classifier': the classifier on the request's box, its top five as the package lists
them. Images are turned upright by their EXIF orientation, as the package's load_rgb_image does.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np

from animl_contract.artifact import GEOFENCE_FILE, TAXONOMY_FILE
from animl_serve import geometry
from animl_serve.errors import ArtifactError, ClientError
from animl_serve.handlers.base import (
    Handler,
    class_scores,
    crop_and_resize,
    parse_json_object,
    synthetic_jpeg,
    to_batch,
    top_indices,
)
from animl_serve.handlers.detector import Detection, detect
from animl_serve.images import decode_base64
from animl_serve.speciesnet_ensemble import Ensemble

COMPONENTS = ("all", "classifier")
WHOLE_IMAGE = (0.0, 0.0, 1.0, 1.0)
#: speciesnet/constants.py Detection.from_category: the detector's classes 1, 2, 3.
DETECTION_LABELS = ("animal", "human", "vehicle")
COUNTRY = re.compile(r"^[A-Z]{3}$")
ADMIN1_REGION = re.compile(r"^[A-Z0-9]{2}$")


def _location(request: dict[str, Any]) -> tuple[str | None, str | None]:
    """country as ISO 3166-1 alpha-3 and admin1_region as the two characters after the '-' of
    ISO 3166-2, as the package's geofence keys them (5.x refuses other forms; 4.0.1 silently
    geofences with them)."""
    country, region = request.get("country"), request.get("admin1_region")
    if country is not None and not (isinstance(country, str) and COUNTRY.match(country)):
        raise ClientError(
            f"country {country!r} must be an ISO 3166-1 alpha-3 code in capitals, such as USA"
        )
    if region is not None and not (isinstance(region, str) and ADMIN1_REGION.match(region)):
        raise ClientError(
            f"admin1_region {region!r} must be the two-character ISO 3166-2 subdivision, such "
            "as CA (from US-CA)"
        )
    if region is not None and country is None:
        raise ClientError("admin1_region needs a country")
    return country, region


def _xywh_normalized(box: np.ndarray, width: int, height: int) -> list[float]:
    """YOLOv5 xyxy2xywhn in float32, then the package's x_min = x_center - width / 2."""
    x1, y1, x2, y2 = (np.float32(v) for v in box)
    center_x = ((x1 + x2) / np.float32(2)) / np.float32(width)
    center_y = ((y1 + y2) / np.float32(2)) / np.float32(height)
    w, h = (x2 - x1) / np.float32(width), (y2 - y1) / np.float32(height)
    return [float(center_x) - float(w) / 2.0, float(center_y) - float(h) / 2.0, float(w), float(h)]


class SpeciesNetHandler(Handler):
    content_types = frozenset({"application/json"})

    def setup(self) -> None:
        config, detector, model_dir = self.config, self.detector, self.model_dir
        pre = config.preprocessing
        self.ensemble: Ensemble | None = None
        if detector is not None:
            if pre.detector is None or pre.ensemble is None or model_dir is None:
                raise ArtifactError(
                    "the artifact has detector.onnx but animl-model.json declares no "
                    "preprocessing.detector and preprocessing.ensemble"
                )
            for name in (TAXONOMY_FILE, GEOFENCE_FILE):
                if not (model_dir / name).is_file():
                    raise ArtifactError(
                        f"{model_dir / name} is missing: a SpeciesNet artifact with a detector "
                        "needs the taxonomy and geofence of its release"
                    )
            self.ensemble = Ensemble.load(
                model_dir / TAXONOMY_FILE, model_dir / GEOFENCE_FILE, pre.ensemble.geofence
            )

    def predict(self, body: bytes) -> dict[str, Any]:
        settings = self.config.preprocessing.classifier
        assert settings is not None
        request = parse_json_object(body)
        if "image_data" not in request:
            raise ClientError("the JSON body has no 'image_data' (a base64 JPEG)")
        components = request.get("components", "all")
        if components not in COMPONENTS:
            raise ClientError(f"components is {components!r}; expected one of {list(COMPONENTS)}")
        if components == "all" and self.ensemble is None:
            raise ClientError(
                "components 'all' needs a detector, and this artifact has none; use 'classifier'"
            )
        country, region = _location(request) if components == "all" else (None, None)
        raw = request.get("bbox")
        box = WHOLE_IMAGE if raw is None else geometry.parse_bbox(raw, "xywh")
        xywh = None if raw is None else tuple(geometry.bbox_numbers(raw))
        image = self.decode(decode_base64(request["image_data"], "image_data"))

        prediction: dict[str, Any] = {}
        detections: list[Detection] = []
        if components == "all":
            detections = self._detect(image)
            width, height = image.size
            reported = [_xywh_normalized(np.asarray(d.box), width, height) for d in detections]
            prediction["detections"] = [
                {
                    "category": str(d.class_index + 1),
                    "label": DETECTION_LABELS[d.class_index],
                    "conf": round(d.confidence, 6),
                    "bbox": [round(v, 6) for v in bbox],
                }
                for d, bbox in zip(detections, reported, strict=True)
            ]
            # The package's 'all' mode takes no box: it classifies the top detection's crop, or
            # the whole image without one (SpeciesNet.predict, multiprocessing.py). The request's
            # box is checked, then not used, so the class the API writes at detections[0].bbox
            # is the classification of that box.
            box, xywh = WHOLE_IMAGE, WHOLE_IMAGE
            if detections:
                x, y, w, h = reported[0]
                box, xywh = (x, y, x + w, y + h), (x, y, w, h)

        crop = crop_and_resize(image, box, settings, xywh)  # type: ignore[arg-type]
        scores = class_scores(self.backend.run(to_batch(crop, settings))[0], self.config)
        top = top_indices(scores, settings.top_k)
        labels = [self.config.labels[i] for i in top]
        top_scores = [float(scores[i]) for i in top]
        prediction["classifications"] = {
            "classes": labels,
            "scores": [round(s, 6) for s in top_scores],
        }
        if self.ensemble is not None and components == "all":
            combined = self.ensemble.combine(
                labels,
                top_scores,
                [(DETECTION_LABELS[d.class_index], d.confidence) for d in detections],
                country,
                region,
            )
            prediction |= {
                "prediction": combined.label,
                "prediction_score": round(combined.score, 6),
                "prediction_source": combined.source,
            }
            if country is not None:
                prediction["country"] = country
            if region is not None:
                prediction["admin1_region"] = region
        prediction["model_version"] = self.config.version
        return {"predictions": [prediction]}

    def _detect(self, image) -> list[Detection]:
        settings = self.config.preprocessing.detector
        assert settings is not None
        assert self.detector is not None
        return detect(image, self.detector, settings, len(DETECTION_LABELS))

    def synthetic_request(self) -> bytes:
        image = base64.b64encode(synthetic_jpeg()).decode()
        components = "all" if self.ensemble is not None else "classifier"
        return json.dumps(
            {"image_data": image, "bbox": [0.2, 0.1, 0.5, 0.6], "components": components}
        ).encode()
