"""The MLModel records MongoDB holds for a model (animl-api src/api/db/schemas/MLModel.ts), and
the check of an artifact against them and the registry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from animl_contract.artifact import ArtifactConfigError
from animl_contract.conversion import CONVERSION_FILE, ConversionReport
from animl_contract.labels import SPECIESNET_UNKNOWN, category_id
from animl_ops import animl_api
from animl_ops.local_runtime import LocalRuntimeError, invoke, serving_archive
from animl_ops.response_format import BadResponse, check_format, sample_image
from model_registry.artifact import (
    NotPackageableError,
    artifact_config,
    disagreements,
    read_artifact_config,
    read_artifact_file,
    taxonomy_disagreement,
)
from model_registry.schema import ClassSpec, ModelSpec, RecordSpec, UnverifiedField, class_shorthand

#: The category the API writes as label '0' when nothing passes (src/scripts/seedDb.js).
EMPTY_CATEGORY = {"_id": animl_api.EMPTY_LABEL, "name": "empty", "color": "#8D8D8D"}
#: The API's palette for new labels, in its order (src/api/db/models/colors.ts). The API picks
#: a random unused one; we take the first unused, so that exports are reproducible.
PALETTE = (
    "#8D8D8D", "#E54D2E", "#E5484D", "#E54666", "#E93D82", "#D6409F", "#AB4ABA", "#8E4EC6",
    "#6E56CF", "#5B5BD6", "#3E63DD", "#0090FF", "#00A2C7", "#12A594", "#29A383", "#30A46C",
    "#46A758", "#A18072", "#978365", "#AD7F58", "#F76B15", "#FFC53D", "#FFE629", "#BDEE63",
    "#86EAD4", "#7CE2FE",
)  # fmt: skip


class IncompleteRecord(ValueError):  # noqa: N818 - reads as the condition it reports
    """The registry lacks a value the record needs; the message says which and why."""


def _record_classes(model: ModelSpec, record: RecordSpec) -> list[ClassSpec]:
    """The model's classes, and for a record that includes the taxonomy every other label the
    ensemble can answer: the taxonomy's (roll-ups) and SpeciesNet's 'no cv result'."""
    classes = list(model.classes)
    if record.includes_taxonomy:
        known = {category_id(model.family, c.id) for c in classes}
        for label in (*(model.taxonomy or ()), SPECIESNET_UNKNOWN):
            if category_id(model.family, label) not in known:
                known.add(category_id(model.family, label))
                classes.append(ClassSpec.model_validate(class_shorthand(label)))
    return classes


def record_categories(model: ModelSpec, record: RecordSpec) -> list[dict[str, Any]]:
    """The record's categories: '0' (empty) where the API writes it, then one per class."""
    classes = _record_classes(model, record)
    categories: list[dict[str, Any]] = [dict(EMPTY_CATEGORY)] if record.empty_category else []
    taken = {c["color"] for c in categories} | {c.color for c in classes if c.color}
    free = [color for color in PALETTE if color not in taken] or list(PALETTE)
    for i, spec in enumerate(classes):
        category = {
            "_id": category_id(model.family, spec.id),
            "name": spec.name,
            "color": spec.color or free[i % len(free)],
        }
        if spec.taxonomy:
            category["taxonomy"] = spec.taxonomy
        categories.append(category)
    return categories


def mlmodel_record(model: ModelSpec, record: RecordSpec) -> dict[str, Any]:
    """The record as the API's mongoose schema requires it; IncompleteRecord where the registry
    marks a required value unverified."""
    missing: dict[UnverifiedField, bool] = {
        "classes": not model.classes,
        "taxonomy": record.includes_taxonomy and not model.taxonomy,
        "version": record.version is None,
        "default_confidence_threshold": record.default_confidence_threshold is None,
    }
    if any(missing.values()):
        reasons = "; ".join(
            f"{name} ({model.unverified.get(name, 'missing')})"
            for name, absent in missing.items()
            if absent
        )
        raise IncompleteRecord(
            f"record {record.id} of model {model.name} cannot be exported: fill in {reasons} "
            f"in model_registry/models/{model.name}.yaml"
        )
    return {
        "_id": record.id,
        "version": record.version,
        "description": record.description or model.description,
        "defaultConfThreshold": record.default_confidence_threshold,
        "expectsCrops": record.expects_crops,
        "categories": record_categories(model, record),
    }


def unverified_notes(model: ModelSpec) -> list[str]:
    return [f"{field}: {why}" for field, why in model.unverified.items()]


def api_record(model: ModelSpec, record: RecordSpec) -> animl_api.Record:
    """What the API reads of the exported record."""
    exported = mlmodel_record(model, record)
    return animl_api.Record(
        id=exported["_id"],
        version=exported["version"],
        default_conf_threshold=exported["defaultConfThreshold"],
        category_ids=tuple(c["_id"] for c in exported["categories"]),
        category_names=tuple(c["name"] for c in exported["categories"]),
    )


def api_labels(model: ModelSpec, record: RecordSpec, answer: Any, bbox: list[float] | None):
    """The category ids the Animl API makes of an answer, every threshold at zero so that each
    label it reads shows; ApiThrowsError where the API's code would throw."""
    api = api_record(model, record)
    route = animl_api.interface(record.id)
    if route is None:
        raise animl_api.ApiThrowsError(f"the Animl API routes no record {record.id!r}")
    cats = [replace(c, conf_threshold=0.0) for c in animl_api.build_cat_config(api)]
    return tuple(sorted({d.label_id for d in route.parse(api, answer, bbox, cats)}))


@dataclass(frozen=True)
class ArtifactCheck:
    """What --check found: problems, and the labels each record's answer carried."""

    problems: tuple[str, ...]
    served: dict[str, tuple[str, ...]]
    #: The precision the artifact serves, and how its conversion report says it got there.
    precision: str = ""


def check_artifact(model: ModelSpec, archive: Path) -> ArtifactCheck:
    """Compares the artifact's config with the registry, then serves it with the container
    runtime and reads each record's answer as the Animl API does."""
    shown = f"model_registry/models/{model.name}.yaml"
    try:
        actual = read_artifact_config(archive)
        expected = artifact_config(model)
    except (ArtifactConfigError, NotPackageableError) as error:
        raise LocalRuntimeError(str(error)) from error
    problems = [
        f"{archive}:animl-model.json {field}: {difference} ({shown} is the source of truth)"
        for field, difference in disagreements(expected, actual)
    ]
    if taxonomy := taxonomy_disagreement(model, archive):
        problems.append(f"{taxonomy} ({shown} is the source of truth)")
    if problems:
        return ArtifactCheck(tuple(problems), {})
    precision = _precision(actual.precision, archive)
    served: dict[str, tuple[str, ...]] = {}
    with serving_archive(archive) as url:
        for record in model.records:
            labels, problem = _serve_record(model, record, url)
            served[record.id] = labels
            if problem:
                problems.append(f"record {record.id}: {problem}")
    return ArtifactCheck(tuple(problems), served, precision)


def _precision(precision: str, archive: Path) -> str:
    data = read_artifact_file(archive, CONVERSION_FILE)
    if data is None:
        return f"serves {precision} (no conversion report in the artifact)"
    try:
        report = ConversionReport.model_validate_json(data)
    except ValidationError as error:
        raise LocalRuntimeError(
            f"{archive}:{CONVERSION_FILE} is not a conversion report: {error}"
        ) from error
    fp32 = report.fp32
    text = (
        f"serves {precision}, converted from {report.source_format} {report.source_file}; "
        f"fp32 vs source: {fp32.describe()}"
    )
    if report.int8 is not None:
        q = report.int8
        verdict = "passed" if q.passed else f"failed, accepted because: {q.override_reason}"
        text += (
            f"; int8 vs fp32: {q.gate} {verdict}, {q.agreement.describe()}, latency "
            f"{q.latency_ratio:.2f}x"
        )
    return text


SAMPLE_BOX = [0.1, 0.1, 0.9, 0.9]


def sample_call(model: ModelSpec, record: RecordSpec, is_batch: bool) -> animl_api.Call:
    """The call the API makes for this record, on a sample image (and box, for crop models)."""
    route = animl_api.interface(record.id)
    if route is None:
        raise animl_api.ApiThrowsError(f"the Animl API routes no record {record.id!r}")
    stand_in = animl_api.Record(record.id, record.version or "", 0.0, (), ())
    bbox = SAMPLE_BOX if record.expects_crops else None
    return route.call(stand_in, sample_image(), bbox, is_batch)


def _serve_record(model: ModelSpec, record: RecordSpec, url: str) -> tuple[tuple[str, ...], str]:
    try:
        call = sample_call(model, record, is_batch=True)
        status, body = invoke(url, call.body, call.content_type)
        if status != 200:
            return (), f"the container answered {status}: {body[:200]!r}"
        answer = check_format(model.family, body)
        bbox = SAMPLE_BOX if record.expects_crops else None
        return api_labels(model, record, answer, bbox), ""
    except (BadResponse, animl_api.ApiThrowsError) as error:
        return (), str(error)
