"""SpeciesNet's ensemble: how a detection and the classifier's top five become one prediction.

Our implementation of the rules of Google's `speciesnet` package 4.0.1 (github:google/cameratrapai,
Apache-2.0): taxonomy_utils.py (ancestors), geofence_utils.py (geofence and roll-up),
ensemble_prediction_combiner.py (the decision thresholds) and ensemble.py (the taxonomy map). The
thresholds and their order are the package's; tests compare the two on the same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from animl_contract.labels import SPECIESNET_ANIMAL as ANIMAL
from animl_contract.labels import SPECIESNET_BLANK as BLANK
from animl_contract.labels import SPECIESNET_HUMAN as HUMAN
from animl_contract.labels import SPECIESNET_UNKNOWN as UNKNOWN
from animl_contract.labels import SPECIESNET_VEHICLE as VEHICLE
from animl_serve.errors import ArtifactError

NOT_ANIMALS = frozenset({BLANK, HUMAN, VEHICLE})
ROLL_UP_LEVELS = ("genus", "family", "order", "class", "kingdom")
GEOFENCE_ROLL_UP_LEVELS = ("family", "order", "class", "kingdom")


def taxa(label: str) -> str:
    """class;order;family;genus;species of a seven-field label (get_full_class_string)."""
    parts = label.split(";")
    if len(parts) != 7:
        raise ValueError(f"{label!r} is not a seven-field SpeciesNet label")
    return ";".join(parts[1:6])


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    source: str


@dataclass(frozen=True)
class Ensemble:
    """The taxonomy (taxa -> label) and geofence rules of one SpeciesNet release."""

    taxonomy: Mapping[str, str]
    geofence: Mapping[str, Any]
    geofence_enabled: bool = True

    @classmethod
    def load(cls, taxonomy_file: Path, geofence_file: Path, geofence_enabled: bool) -> Ensemble:
        """ensemble.py load_taxonomy and load_geofence, with errors naming the file."""
        try:
            lines = taxonomy_file.read_text(encoding="utf-8").splitlines()
            taxonomy = {taxa(line.strip()): line.strip() for line in lines if line.strip()}
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ArtifactError(
                f"{taxonomy_file.name}: not a SpeciesNet taxonomy: {error}"
            ) from error
        for label in (BLANK, VEHICLE, UNKNOWN):
            taxonomy.pop(taxa(label), None)
        for label in (HUMAN, ANIMAL):
            taxonomy[taxa(label)] = label
        try:
            geofence = json.loads(geofence_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ArtifactError(f"{geofence_file.name}: not a geofence map: {error}") from error
        if not isinstance(geofence, dict):
            raise ArtifactError(f"{geofence_file.name}: the geofence must be a JSON object")
        return cls(taxonomy, geofence, geofence_enabled)

    def ancestor(self, label: str, level: str) -> str | None:
        """get_ancestor_at_level: the taxonomy's label for the label's ancestor at `level`."""
        parts = label.split(";")
        if len(parts) != 7:
            raise ValueError(f"{label!r} is not a seven-field SpeciesNet label")
        depth = {"species": 5, "genus": 4, "family": 3, "order": 2, "class": 1}
        if level == "kingdom":
            if not parts[1] and label != ANIMAL:
                return None
            key = ";;;;"
        else:
            kept = parts[1 : 1 + depth[level]]
            if not kept[-1]:
                return None
            key = ";".join(kept + [""] * (5 - depth[level]))
        return self.taxonomy.get(key)

    def fenced(self, label: str, country: str | None, admin1_region: str | None) -> bool:
        """should_geofence_animal_classification."""
        if not self.geofence_enabled or not country:
            return False
        rules = self.geofence.get(taxa(label))
        if rules is None:
            return False
        allow = rules.get("allow")
        if allow:
            if country not in allow:
                return True
            regions = allow[country]
            if admin1_region and regions and admin1_region not in regions:
                return True
        block = rules.get("block")
        if block and country in block:
            regions = block[country]
            if not regions or (admin1_region and admin1_region in regions):
                return True
        return False

    def roll_up(
        self,
        labels: Sequence[str],
        scores: Sequence[float],
        country: str | None,
        admin1_region: str | None,
        levels: Sequence[str],
        threshold: float,
    ) -> Prediction | None:
        """roll_up_labels_to_first_matching_level: the first level whose best unfenced sum of
        scores exceeds the threshold."""
        for level in levels:
            sums: dict[str, float] = {}
            for label, score in zip(labels, scores, strict=True):
                ancestor = self.ancestor(label, level)
                if ancestor:
                    sums[ancestor] = sums.get(ancestor, 0.0) + score
            best, best_score = None, 0.0
            for ancestor, total in sums.items():
                if total > best_score and not self.fenced(ancestor, country, admin1_region):
                    best, best_score = ancestor, total
            if best and best_score > threshold:
                return Prediction(best, best_score, f"classifier+rollup_to_{level}")
        return None

    def geofence_top(
        self,
        labels: Sequence[str],
        scores: Sequence[float],
        country: str | None,
        admin1_region: str | None,
    ) -> Prediction:
        """geofence_animal_classification: the top label, or its roll-up if it is fenced."""
        if not self.fenced(labels[0], country, admin1_region):
            return Prediction(labels[0], scores[0], "classifier")
        rollup = self.roll_up(
            labels, scores, country, admin1_region, GEOFENCE_ROLL_UP_LEVELS, scores[0] - 1e-10
        )
        if rollup is None:
            return Prediction(UNKNOWN, scores[0], "classifier+geofence+rollup_failed")
        source = "classifier+geofence+" + rollup.source.removeprefix("classifier+")
        return Prediction(rollup.label, rollup.score, source)

    def combine(
        self,
        labels: Sequence[str],
        scores: Sequence[float],
        detections: Sequence[tuple[str, float]],
        country: str | None,
        admin1_region: str | None,
    ) -> Prediction:
        """combine_predictions_for_single_item: detections are (label, conf), best first."""
        top_class, top_score = labels[0], scores[0]
        detection, confidence = detections[0] if detections else ("animal", 0.0)

        if detection == "human":
            if confidence > 0.7:
                return Prediction(HUMAN, confidence, "detector")
            if confidence > 0.2 and top_class in (HUMAN, VEHICLE) and top_score > 0.5:
                return Prediction(HUMAN, top_score, "classifier")
        if detection == "vehicle":
            if confidence > 0.2 and top_class == HUMAN and top_score > 0.5:
                return Prediction(HUMAN, top_score, "classifier")
            if confidence > 0.7:
                return Prediction(VEHICLE, confidence, "detector")
            if confidence > 0.2 and top_class == VEHICLE and top_score > 0.4:
                return Prediction(VEHICLE, top_score, "classifier")
        if confidence < 0.2 and top_class == BLANK and top_score > 0.5:
            return Prediction(BLANK, top_score, "classifier")
        if top_class == BLANK and top_score > 0.99:
            return Prediction(BLANK, top_score, "classifier")
        if top_class not in NOT_ANIMALS and (
            top_score > 0.8 or (top_score > 0.65 and detection == "animal" and confidence > 0.2)
        ):
            return self.geofence_top(labels, scores, country, admin1_region)
        rollup = self.roll_up(labels, scores, country, admin1_region, ROLL_UP_LEVELS, 0.65)
        if rollup:
            return rollup
        if detection == "animal" and confidence > 0.5:
            return Prediction(ANIMAL, confidence, "detector")
        return Prediction(UNKNOWN, top_score, "classifier")
