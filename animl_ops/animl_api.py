"""How the Animl API calls an endpoint and reads its answer: a port of github:tnc-ca-geo/animl-api
src/ml/modelInterfaces.ts (read at commit 3e7f7d2, 2026-03-20), with the SSM key naming of
src/config/config.ts and the category config of src/automation/utils.js.

Each function cites the TypeScript it ports. Where the TypeScript would throw (a label the record
lacks: `catConfig.find(...)!` is undefined), the port raises ApiThrowsError: the API then drops the
message after its retries.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: src/config/config.ts ssmNames: the endpoint parameters every API container reads at start-up;
#: one missing makes getConfig throw (InvalidParameters).
REQUIRED_ENDPOINT_PARAMETERS = (
    "/ml/megadetector-v5a-realtime-endpoint",
    "/ml/megadetector-v5a-batch-endpoint",
    "/ml/megadetector-v5b-realtime-endpoint",
    "/ml/megadetector-v5b-batch-endpoint",
    "/ml/megadetector-v1000-0-0-redwood-realtime-endpoint",
    "/ml/megadetector-v1000-0-0-redwood-batch-endpoint",
    "/ml/mirav2-realtime-endpoint",
    "/ml/mirav2-batch-endpoint",
    "/ml/nzdoc-batch-endpoint",
    "/ml/sdzwa-southwestv3-batch-endpoint",
    "/ml/sdzwa-southwestv3-realtime-endpoint",
    "/ml/sdzwa-andesv1-batch-endpoint",
    "/ml/deepfaune-ne-batch-endpoint",
    "/ml/speciesnetv401a-realtime-endpoint",
    "/ml/speciesnetv401a-batch-endpoint",
    "/ml/ircv2-batch-endpoint",
    "/ml/camera-trap-vehicle-classifier-batch-endpoint",
    "/ml/alitav3-batch-endpoint",
    "/ml/nzi-adsv1-realtime-endpoint",
    "/ml/nzi-adsv1-batch-endpoint",
)
WHOLE_IMAGE: list[float] = [0, 0, 1, 1]
EMPTY_LABEL = "0"


class ApiThrowsError(Exception):
    """Where the API's own code would throw for this answer or call."""


def config_key(parameter: str, stage: str) -> str:
    """formatSSMParams: the key under which getConfig() exposes a parameter's value."""
    # JavaScript's String.replace with a string pattern replaces the first occurrence only.
    return parameter.replace(f"-{stage}", "", 1).replace("-", "_").upper()


@dataclass(frozen=True)
class Record:
    """What the API reads of an MLModel record (GET_ML_MODEL in src/ml/handler.ts)."""

    id: str
    version: str
    default_conf_threshold: float
    category_ids: tuple[str, ...]
    category_names: tuple[str, ...]


@dataclass(frozen=True)
class CatConfig:
    id: str
    name: str
    disabled: bool
    conf_threshold: float


def build_cat_config(
    record: Record, category_config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[CatConfig]:
    """buildCatConfig (src/automation/utils.js): the rule's per-name settings, else the default."""
    settings = category_config or {}
    return [
        CatConfig(
            id=cid,
            name=name,
            disabled=bool(settings.get(name, {}).get("disabled")),
            conf_threshold=settings.get(name, {}).get("confThreshold")
            or record.default_conf_threshold,
        )
        for cid, name in zip(record.category_ids, record.category_names, strict=True)
    ]


@dataclass(frozen=True)
class Detection:
    label_id: str
    bbox: list[float]
    conf: float | None


@dataclass(frozen=True)
class Call:
    """One InvokeEndpoint call: the config key naming the endpoint, the body, the content type."""

    endpoint_key: str
    body: bytes
    content_type: str | None


def _find(cat_config: Sequence[CatConfig], label_id: str) -> CatConfig:
    """catConfig.find((cat) => cat._id === labelId)! (modelInterfaces.ts:60 and 120)."""
    for cat in cat_config:
        if cat.id == label_id:
            return cat
    raise ApiThrowsError(
        f"the answer names label {label_id!r}, which the record's categories lack: "
        "catConfig.find(...) is undefined and the API throws"
    )


def _filter_classifier_predictions(
    predictions: Mapping[str, float], bbox: list[float], cat_config: Sequence[CatConfig]
) -> list[Detection]:
    """_filterClassifierPredictions (modelInterfaces.ts:51-73)."""
    kept = []
    for label_id, conf in predictions.items():
        cat = _find(cat_config, label_id)
        if not cat.disabled and conf >= cat.conf_threshold:
            kept.append(Detection(label_id, bbox, conf))
    return kept


def _kind(is_batch: bool) -> str:
    return "BATCH" if is_batch else "REALTIME"


# --- megadetector -----------------------------------------------------------------------------


def _megadetector_version(version: str) -> str:  # modelInterfaces.ts:80-92
    return {"v1000.0.0-redwood": "V1000_0_0_REDWOOD", "v5.0a": "V5A"}.get(version, "V5B")


def megadetector_call(record: Record, image: bytes, is_batch: bool) -> Call:
    """megadetector (modelInterfaces.ts:75-139): the raw image, no ContentType; the endpoint
    chosen by the record's version."""
    version = _megadetector_version(record.version)
    return Call(f"/ML/MEGADETECTOR_{version}_{_kind(is_batch)}_ENDPOINT", image, None)


def _js_parse_int(value: object) -> float:
    """parseInt of a class number or category id (NaN for anything else)."""
    text = str(value).strip()
    digits = text.lstrip("+-")
    digits = digits[: len(digits) - len(digits.lstrip("0123456789"))] if digits else ""
    if not digits:
        return float("nan")
    return -int(digits) if text.startswith("-") else int(digits)


def megadetector_parse(answer: Any, cat_config: Sequence[CatConfig]) -> list[Detection]:
    """The class matched to a category by parseInt (:115), the thresholds (:119-122), and
    label '0' on the whole image when nothing passes (:124-131)."""
    formatted = []
    for det in answer:
        wanted = _js_parse_int(det["class"])
        match = next((c for c in cat_config if _js_parse_int(c.id) == wanted), None)
        if match is None:
            raise ApiThrowsError(f"class {det['class']!r} matches no category id: the API throws")
        formatted.append(
            Detection(match.id, [det["y1"], det["x1"], det["y2"], det["x2"]], det["confidence"])
        )
    kept = [
        d
        for d in formatted
        if not _find(cat_config, d.label_id).disabled
        and d.conf is not None
        and d.conf >= _find(cat_config, d.label_id).conf_threshold
    ]
    if not kept:  # add "empty" detection
        kept.append(Detection(EMPTY_LABEL, list(WHOLE_IMAGE), None))
    return kept


# --- crop classifiers -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierInterface:
    """mirav2 (:141), nzdoc (:169), sdzwasouthwestv3 (:201), sdzwaandesv1 (:231), deepfaunene
    (:263), ircv2 (:386), cameraTrapVehicleClassifier (:419), alitav3 (:451) and nziadsv1 (:484)
    of modelInterfaces.ts: one function each, the same body but for these differences."""

    key: str  # the part of /ML/<key>_<BATCH|REALTIME>_ENDPOINT
    realtime: bool = True  # False: the function throws "... does not support realtime processing"
    xywh: bool = False  # nziadsv1 converts the bbox with _toNziAdsV1Format
    content_type: str | None = None  # ircv2 sets ContentType for FastAPI

    def call(self, image: bytes, bbox: list[float] | None, is_batch: bool) -> Call:
        if not is_batch and not self.realtime:
            raise ApiThrowsError(f"{self.key.lower()} does not support realtime processing")
        sent = bbox or WHOLE_IMAGE
        if self.xywh and bbox:
            y1, x1, y2, x2 = bbox
            sent = [x1, y1, x2 - x1, y2 - y1]
        body = json.dumps({"image": base64.b64encode(image).decode(), "bbox": sent})
        return Call(f"/ML/{self.key}_{_kind(is_batch)}_ENDPOINT", body.encode(), self.content_type)

    @staticmethod
    def parse(
        answer: Any, bbox: list[float] | None, cat_config: Sequence[CatConfig]
    ) -> list[Detection]:
        return _filter_classifier_predictions(answer, bbox or list(WHOLE_IMAGE), cat_config)


CLASSIFIERS = {
    "mirav2": ClassifierInterface("MIRAV2"),
    "nzdoc": ClassifierInterface("NZDOC", realtime=False),
    "sdzwa-southwestv3": ClassifierInterface("SDZWA_SOUTHWESTV3"),
    "sdzwa-andesv1": ClassifierInterface("SDZWA_ANDESV1", realtime=False),
    "deepfaune-ne": ClassifierInterface("DEEPFAUNE_NE", realtime=False),
    "ircv2": ClassifierInterface("IRCV2", realtime=False, content_type="application/json"),
    "camera-trap-vehicle-classifier": ClassifierInterface(
        "CAMERA_TRAP_VEHICLE_CLASSIFIER", realtime=False
    ),
    "alitav3": ClassifierInterface("ALITAV3", realtime=False),
    "nzi-adsv1": ClassifierInterface("NZI_ADSV1", xywh=True),
}


# --- speciesnet -------------------------------------------------------------------------------


def speciesnet_mode(record: Record) -> str:
    return "classifier" if record.id == "speciesnet-classifier" else "all"


def speciesnet_call(
    record: Record,
    image: bytes,
    bbox: list[float] | None,
    is_batch: bool,
    country: str | None = None,
    admin1_region: str | None = None,
) -> Call:
    """speciesnet (modelInterfaces.ts:295-384): the bbox as [x, y, w, h] (:10-14), the mode from
    the record id, country and admin1 region (the part after '-', :322) only in 'all' mode."""
    mode = speciesnet_mode(record)
    sent = list(WHOLE_IMAGE)
    if bbox:
        y1, x1, y2, x2 = bbox
        sent = [x1, y1, x2 - x1, y2 - y1]
    payload: dict[str, Any] = {
        "image_data": base64.b64encode(image).decode(),
        "bbox": sent,
        "components": mode,
    }
    if mode == "all" and country:
        payload["country"] = country
    if mode == "all" and admin1_region and len(parts := admin1_region.split("-")) > 1:
        payload["admin1_region"] = parts[1]  # JSON.stringify drops an undefined [1]
    return Call(
        f"/ML/SPECIESNETV401A_{_kind(is_batch)}_ENDPOINT", json.dumps(payload).encode(), None
    )


def speciesnet_parse(
    record: Record, answer: Any, bbox: list[float] | None, cat_config: Sequence[CatConfig]
) -> list[Detection]:
    """'all': the first detection's box (:350) and the prediction's uuid (:353); 'classifier':
    every class's uuid (:360); label '0' when nothing passes in 'all' mode (:369-377)."""
    mode = speciesnet_mode(record)
    box = list(bbox) if bbox else list(WHOLE_IMAGE)
    first = answer["predictions"][0]
    predictions: dict[str, float] = {}
    if mode == "all" and len(first["detections"]) > 0:
        x, y, w, h = first["detections"][0]["bbox"]
        box = [y, x, y + h, x + w]  # _toMegaDetectorFormat
        predictions[first["prediction"].split(";")[0]] = first["prediction_score"]
    if mode == "classifier" and len(first["classifications"]["classes"]) > 0:
        for index, label in enumerate(first["classifications"]["classes"]):
            predictions[label.split(";")[0]] = first["classifications"]["scores"][index]
    kept = _filter_classifier_predictions(predictions, box, cat_config)
    if not kept and mode == "all":
        kept.append(Detection(EMPTY_LABEL, list(WHOLE_IMAGE), None))
    return kept


# --- routing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interface:
    """One entry of the modelInterfaces map: how a record id is called and read."""

    call: Callable[..., Call]
    parse: Callable[..., list[Detection]]
    realtime: bool = True


def interface(record_id: str) -> Interface | None:
    """modelInterfaces.get(_id) (modelInterfaces.ts:514-528, handler.ts singleInference); None
    where the API has no entry and drops the message."""
    if record_id in ("megadetector_v5a", "megadetector_v5b", "megadetector_v1000.0.0-redwood"):
        return Interface(
            call=lambda r, image, bbox, is_batch, **_: megadetector_call(r, image, is_batch),
            parse=lambda r, answer, bbox, cats: megadetector_parse(answer, cats),
        )
    if record_id in CLASSIFIERS:
        spec = CLASSIFIERS[record_id]
        return Interface(
            call=lambda r, image, bbox, is_batch, **_: spec.call(image, bbox, is_batch),
            parse=lambda r, answer, bbox, cats: spec.parse(answer, bbox, cats),
            realtime=spec.realtime,
        )
    if record_id in ("speciesnet-classifier", "speciesnet-all"):
        return Interface(call=speciesnet_call, parse=speciesnet_parse)
    return None
