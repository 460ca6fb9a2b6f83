"""The artifact's config (animl-model.json in model.tar.gz): the one description of a model that
the registry writes, the packaging tool ships and the runtime serves."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from pydantic import Field, ValidationError, model_validator

from animl_contract.conversion import Precision
from animl_contract.families import Family
from animl_contract.labels import SpeciesNetLabel, label_problem
from animl_contract.preprocessing import Preprocessing, Strict

CONFIG_FILE = "animl-model.json"
MODEL_FILE = "model.onnx"
DETECTOR_FILE = "detector.onnx"
#: SpeciesNet: the package's taxonomy_release.txt and geofence_release.*.json, renamed.
TAXONOMY_FILE = "taxonomy.txt"
GEOFENCE_FILE = "geofence.json"
OPTIMIZED_SUFFIX = ".optimized.onnx"
ONNX_FILES = (MODEL_FILE, DETECTOR_FILE)


def optimized_name(onnx_file: str) -> str:
    return onnx_file.removesuffix(".onnx") + OPTIMIZED_SUFFIX


def label_problems(family: Family, labels: tuple[str, ...]) -> list[str]:
    """What makes labels unfit for the family's answers."""
    problems = [p for label in labels if (p := label_problem(label))]
    dupes = sorted(label for label, n in Counter(labels).items() if n > 1)
    if dupes:
        problems.append(f"duplicate labels {dupes}")
    if family == "detector":
        bad = [label for label in labels if not label.isdigit()]
        if bad:
            problems.append(f"detector labels are the class numbers it answers, not {bad}")
    if family == "speciesnet":
        for label in labels:
            try:
                SpeciesNetLabel.parse(label)
            except ValueError as error:
                problems.append(str(error))
    return problems


def preprocessing_problems(family: Family, pre: Preprocessing) -> list[str]:
    """The sections each family needs: a detector's letterbox, a classifier's crop."""
    if family == "detector":
        if pre.detector is None or pre.classifier is not None:
            return ["a detector needs preprocessing.detector and no preprocessing.classifier"]
    elif pre.classifier is None:
        return [f"a {family} needs preprocessing.classifier"]
    elif family == "crop-classifier" and pre.detector is not None:
        return ["a crop-classifier has no preprocessing.detector"]
    if family != "speciesnet" and pre.ensemble is not None:
        return [f"a {family} has no preprocessing.ensemble"]
    if family == "speciesnet" and (pre.detector is None) != (pre.ensemble is None):
        return [
            "a SpeciesNet with a detector needs preprocessing.ensemble too, and one "
            "without needs neither"
        ]
    return []


class ArtifactConfig(Strict):
    """labels: what the endpoint returns, in the order of the model's outputs."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    family: Family
    labels: tuple[str, ...] = Field(min_length=1)
    preprocessing: Preprocessing
    #: The graph's arithmetic; an int8 artifact carries the conversion report that let it in.
    precision: Precision = "fp32"

    @model_validator(mode="after")
    def _consistent(self) -> ArtifactConfig:
        problems = label_problems(self.family, self.labels)
        problems += preprocessing_problems(self.family, self.preprocessing)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), indent=2) + "\n"


#: A union member's label in an error's location: "literal['all']", "tuple[str, ...]", a class.
_UNION_MEMBER = re.compile(r"\[|^(str|int|float|bool|none)$|^[A-Z][a-z]+\w*$")
_WANTED = {"a valid tuple": "a list", "a valid list": "a list", "a valid dictionary": "a mapping"}


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each problem pydantic found, in the registry's wording. The errors of
    a union's members become one: "'al': must be 'all' or a list"."""
    found: list[tuple[str, str]] = []
    unions: dict[str, tuple[Any, list[str]]] = {}
    for e in error.errors(include_url=False):
        parts = [str(part) for part in e["loc"]]
        member = next((i for i, part in enumerate(parts) if _UNION_MEMBER.search(part)), None)
        if member is not None and e["type"] not in ("value_error", "assertion_error"):
            field = ".".join(parts[:member])
            wanted = e["msg"].removeprefix("Input should be ")
            if field not in unions:
                found.append((field, ""))
            unions.setdefault(field, (e["input"], []))[1].append(_WANTED.get(wanted, wanted))
            continue
        field = ".".join(p for p in parts if not _UNION_MEMBER.search(p))
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown key"
        elif e["type"] == "missing":
            message = "required field is missing"
        elif e["type"] not in ("value_error", "assertion_error"):
            message = f"{_short(e['input'])}: {message}"
        found.append((field, message))
    return [
        (
            field,
            f"{_short(unions[field][0])}: must be {' or '.join(dict.fromkeys(unions[field][1]))}",
        )
        if not message and field in unions
        else (field, message)
        for field, message in found
    ]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ArtifactConfigError(ValueError):
    """animl-model.json does not describe a model; one line per problem."""


def parse_artifact_config(data: object, source: str = CONFIG_FILE) -> ArtifactConfig:
    try:
        return ArtifactConfig.model_validate(data)
    except ValidationError as error:
        lines = [
            f"{source}: {field}: {message}" if field else f"{source}: {message}"
            for field, message in validation_problems(error)
        ]
        raise ArtifactConfigError("\n".join(lines)) from error
