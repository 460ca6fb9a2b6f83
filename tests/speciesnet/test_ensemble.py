"""SpeciesNet's decision rules, each case worked out by hand from the package's documented
thresholds (ensemble_prediction_combiner.py, geofence_utils.py), then checked against our
implementation and against the `speciesnet` package 4.0.1 itself on the same inputs."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from animl_emulator import sample_release as r
from animl_serve.errors import ArtifactError
from animl_serve.speciesnet_ensemble import Ensemble, Prediction

TOP5 = [r.RED_FOX, r.GRAY_FOX, r.COYOTE, r.DOG, r.BOBCAT]

# (case, labels, scores, detections, country, admin1_region, expected label, score, source)
CASES = [
    ("human detection over 0.7", TOP5, [0.5, 0.2, 0.1, 0.1, 0.1], [("human", 0.9)], None, None,
     r.HUMAN, 0.9, "detector"),
    ("human detection 0.2..0.7 and a human classification over 0.5",
     [r.HUMAN, r.VEHICLE, r.BLANK, r.RED_FOX, r.DOG], [0.6, 0.2, 0.1, 0.05, 0.05],
     [("human", 0.5)], None, None, r.HUMAN, 0.6, "classifier"),
    ("vehicle detection over 0.7", TOP5, [0.5, 0.2, 0.1, 0.1, 0.1], [("vehicle", 0.8)], None,
     None, r.VEHICLE, 0.8, "detector"),
    ("vehicle detection and a vehicle classification over 0.4",
     [r.VEHICLE, r.HUMAN, r.BLANK, r.RED_FOX, r.DOG], [0.45, 0.3, 0.1, 0.1, 0.05],
     [("vehicle", 0.5)], None, None, r.VEHICLE, 0.45, "classifier"),
    ("blank: no detection and blank over 0.5", [r.BLANK, *TOP5[:4]], [0.6, 0.2, 0.1, 0.05, 0.05],
     [], None, None, r.BLANK, 0.6, "classifier"),
    ("blank over 0.99 despite an animal detection", [r.BLANK, *TOP5[:4]],
     [0.995, 0.002, 0.001, 0.001, 0.001], [("animal", 0.6)], None, None,
     r.BLANK, 0.995, "classifier"),
    ("species over 0.8 where its allow list holds the country", TOP5,
     [0.9, 0.04, 0.03, 0.02, 0.01], [("animal", 0.9)], "USA", None,
     r.RED_FOX, 0.9, "classifier"),
    ("species allowed in the request's admin1 region",
     [r.GRAY_FOX, r.RED_FOX, r.COYOTE, r.DOG, r.BOBCAT], [0.9, 0.04, 0.03, 0.02, 0.01],
     [("animal", 0.9)], "USA", "CA", r.GRAY_FOX, 0.9, "classifier"),
    ("species fenced: its allow list lacks the admin1 region, rolled up to the family",
     [r.GRAY_FOX, r.RED_FOX, r.COYOTE, r.DOG, r.BOBCAT], [0.9, 0.04, 0.03, 0.02, 0.01],
     [("animal", 0.9)], "USA", "TX", r.CANIDAE, 0.99, "classifier+geofence+rollup_to_family"),
    ("species blocked in the country, rolled up to the family",
     [r.COYOTE, r.DOG, r.RED_FOX, r.GRAY_FOX, r.BOBCAT], [0.85, 0.05, 0.04, 0.03, 0.03],
     [("animal", 0.9)], "GBR", None, r.CANIDAE, 0.97, "classifier+geofence+rollup_to_family"),
    ("species blocked in the admin1 region, rolled up to the order",
     [r.BOBCAT, r.RED_FOX, r.COYOTE, r.DOG, r.GRAY_FOX], [0.9, 0.04, 0.03, 0.02, 0.01],
     [("animal", 0.9)], "USA", "HI", r.CARNIVORA, 1.0, "classifier+geofence+rollup_to_order"),
    ("an unknown country fences a species with an allow list", TOP5,
     [0.9, 0.04, 0.03, 0.02, 0.01], [("animal", 0.9)], "XYZ", None,
     r.CANIDAE, 0.99, "classifier+geofence+rollup_to_family"),
    ("roll-up to the genus", [r.COYOTE, r.DOG, r.RED_FOX, r.BOBCAT, r.GRAY_FOX],
     [0.4, 0.35, 0.1, 0.1, 0.05], [("animal", 0.5)], None, None,
     r.CANIS, 0.75, "classifier+rollup_to_genus"),
    ("roll-up to the family", [r.COYOTE, r.RED_FOX, r.GRAY_FOX, r.TURKEY, r.BOBCAT],
     [0.3, 0.25, 0.2, 0.15, 0.1], [("animal", 0.5)], None, None,
     r.CANIDAE, 0.75, "classifier+rollup_to_family"),
    ("roll-up to the order", [r.BOBCAT, r.COYOTE, r.TURKEY, r.BLANK, r.VEHICLE],
     [0.4, 0.3, 0.1, 0.1, 0.1], [("animal", 0.5)], None, None,
     r.CARNIVORA, 0.7, "classifier+rollup_to_order"),
    ("roll-up to the class", [r.HUMAN, r.COYOTE, r.BOBCAT, r.TURKEY, r.RED_FOX],
     [0.3, 0.25, 0.2, 0.15, 0.1], [("animal", 0.5)], None, None,
     r.MAMMALIA, 0.85, "classifier+rollup_to_class"),
    ("roll-up to the kingdom", [r.TURKEY, r.COYOTE, r.BLANK, r.RED_FOX, r.DOG],
     [0.4, 0.3, 0.2, 0.05, 0.05], [("animal", 0.5)], None, None,
     r.ANIMAL, 0.8, "classifier+rollup_to_kingdom"),
    ("nothing rolls up: an animal detection over 0.5",
     [r.RED_FOX, r.BLANK, r.VEHICLE, r.HUMAN, r.TURKEY], [0.3, 0.3, 0.2, 0.1, 0.1],
     [("animal", 0.6)], None, None, r.ANIMAL, 0.6, "detector"),
    ("a detection below every threshold is unknown",
     [r.RED_FOX, r.BLANK, r.VEHICLE, r.HUMAN, r.TURKEY], [0.3, 0.3, 0.2, 0.1, 0.1],
     [("animal", 0.3)], None, None, r.UNKNOWN, 0.3, "classifier"),
    ("no detection at all: the classifier alone rolls up",
     [r.RED_FOX, r.BOBCAT, r.TURKEY, r.BLANK, r.VEHICLE], [0.7, 0.1, 0.1, 0.05, 0.05], [],
     None, None, r.CANIDAE, 0.7, "classifier+rollup_to_family"),
]  # fmt: skip


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> Ensemble:
    taxonomy, geofence = r.write(tmp_path_factory.mktemp("release"))
    return Ensemble.load(taxonomy, geofence, geofence_enabled=True)


#: Where make setup-dev installs the package, without its dependencies (see the Makefile).
SPECIESNET_PACKAGE = Path(sys.prefix) / "speciesnet-4.0.1" / "speciesnet"


def _package_module(name: str) -> types.ModuleType:
    """A module of the `speciesnet` 4.0.1 package, without running the package's __init__,
    which loads TensorFlow."""
    if "speciesnet" not in sys.modules:
        assert SPECIESNET_PACKAGE.is_dir(), f"no {SPECIESNET_PACKAGE}: run make setup-dev"
        package = types.ModuleType("speciesnet")
        package.__path__ = [str(SPECIESNET_PACKAGE)]
        sys.modules["speciesnet"] = package
    return importlib.import_module(f"speciesnet.{name}")


def _package_taxonomy_map() -> dict[str, str]:
    """speciesnet/ensemble.py load_taxonomy, line for line (the module imports absl)."""
    constants = _package_module("constants")

    def taxa(label: str) -> str:
        return ";".join(label.split(";")[1:6])

    taxonomy = {taxa(label): label for label in r.TAXONOMY}
    for label in (
        constants.Classification.BLANK,
        constants.Classification.VEHICLE,
        constants.Classification.UNKNOWN,
    ):
        taxonomy.pop(taxa(label), None)
    for label in (constants.Classification.HUMAN, constants.Classification.ANIMAL):
        taxonomy[taxa(label)] = label.value
    return taxonomy


def package_combine(enable_geofence: bool) -> Callable[..., Prediction]:
    combiner = _package_module("ensemble_prediction_combiner")
    geofence = _package_module("geofence_utils")

    def combine(labels, scores, detections, country, admin1_region) -> Prediction:
        label, score, source = combiner.combine_predictions_for_single_item(
            classifications={"classes": labels, "scores": scores},
            detections=[{"label": label, "conf": conf} for label, conf in detections],
            country=country,
            admin1_region=admin1_region,
            taxonomy_map=_package_taxonomy_map(),
            geofence_map=r.GEOFENCE,
            enable_geofence=enable_geofence,
            geofence_fn=geofence.geofence_animal_classification,
            roll_up_fn=geofence.roll_up_labels_to_first_matching_level,
        )
        return Prediction(getattr(label, "value", label), score, source)

    return combine


@pytest.mark.parametrize(
    ("labels", "scores", "detections", "country", "admin1", "label", "score", "source"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decision_rule(ours, labels, scores, detections, country, admin1, label, score, source):
    for combine in (ours.combine, package_combine(enable_geofence=True)):
        got = combine(labels, scores, detections, country, admin1)
        assert (got.label, got.source) == (label, source)
        assert got.score == pytest.approx(score)


def test_geofence_off_keeps_a_fenced_species(tmp_path):
    taxonomy, geofence = r.write(tmp_path)
    unfenced = Ensemble.load(taxonomy, geofence, geofence_enabled=False)
    labels = [r.GRAY_FOX, r.RED_FOX, r.COYOTE, r.DOG, r.BOBCAT]
    scores = [0.9, 0.04, 0.03, 0.02, 0.01]
    for combine in (unfenced.combine, package_combine(enable_geofence=False)):
        got = combine(labels, scores, [("animal", 0.9)], "USA", "TX")
        assert (got.label, got.score, got.source) == (r.GRAY_FOX, 0.9, "classifier")


def test_the_release_files_must_be_readable(tmp_path):
    taxonomy, geofence = r.write(tmp_path)
    geofence.write_text("[1, 2]")
    with pytest.raises(ArtifactError, match=r"geofence\.json: the geofence must be a JSON object"):
        Ensemble.load(taxonomy, geofence, True)
    taxonomy.write_text("not;a;label\n")
    with pytest.raises(ArtifactError, match=r"taxonomy\.txt: not a SpeciesNet taxonomy"):
        Ensemble.load(taxonomy, geofence, True)
    with pytest.raises(ArtifactError, match=r"missing\.txt: not a SpeciesNet taxonomy"):
        Ensemble.load(Path(tmp_path / "missing.txt"), geofence, True)
