"""Small stand-in artifacts for the models of a registry, built from the registry as the real ones
are (`artifact build`), and put where the endpoints read them in the emulator's S3.

No real weights can be had here: a detector answers one fixed animal box, a classifier answers by
the crop's mean colour (red, green and blue crops win its first three labels). SpeciesNet's labels
and taxonomy are not public, so a registry copy gets the sample release's (`sample_release`), with
sample record values; the models whose classes or pre-processing are not public are left out,
each with its reason.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from animl_emulator import sample_models, sample_release
from animl_emulator.emulator import Account, Emulator
from animl_ops.artifact_build import build_artifact
from animl_ops.classes_import import import_classes
from model_registry.artifact import NotPackageableError, artifact_config
from model_registry.loader import MODELS_FOLDER, load_fleet
from model_registry.schema import ModelSpec

SPECIESNET_FAMILY = "speciesnet"
#: The sample detector's one box (canvas pixels cx, cy, w, h; objectness; animal, person, vehicle).
ANIMAL_BOX = np.array([[[640, 480, 160, 128, 0.9, 0.95, 0.03, 0.02]]], np.float32)
#: Stand-ins for what SpeciesNet's records do not publish, so that the API's reading can run.
SAMPLE_RECORD_VALUES = {"version": "v4.0.1a", "default_confidence_threshold": 0.5}


@dataclass(frozen=True)
class SampleArtifacts:
    registry: Path
    #: artifact URI (the registry's, with the region in) -> model.tar.gz
    archives: dict[str, Path]
    #: model name -> why it has no artifact
    left_out: dict[str, str]


def sample_registry(source: Path, destination: Path) -> Path:
    """A copy of `source` whose SpeciesNet models carry the sample release."""
    shutil.copytree(source, destination)
    release = destination.parent / "sample-release"
    release.mkdir(exist_ok=True)
    labels, taxonomy = release / "labels.txt", release / "taxonomy_release.txt"
    labels.write_text("\n".join(sample_release.CLASSIFIER_LABELS) + "\n")
    taxonomy.write_text("\n".join(sample_release.TAXONOMY) + "\n")
    for model in load_fleet(destination).models.values():
        if model.family != SPECIESNET_FAMILY:
            continue
        import_classes(destination, model.name, labels)
        import_classes(destination, model.name, taxonomy, taxonomy=True)
        path = destination / MODELS_FOLDER / f"{model.name}.yaml"
        data = yaml.safe_load(path.read_text())
        for record in data["records"]:
            record.update(SAMPLE_RECORD_VALUES)
        for field in SAMPLE_RECORD_VALUES:
            data.get("unverified", {}).pop(field, None)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return destination


def _classifier(model: ModelSpec, folder: Path) -> Path:
    settings = artifact_config(model).preprocessing.classifier
    assert settings is not None
    height, width = settings.input_size
    assert height == width, f"{model.name}: the sample classifier is square"
    return sample_models.color_classifier(
        folder / "classifier.onnx", len(model.class_ids), height, settings.layout
    )


def build(registry: Path, models: list[str], region: str, workdir: Path) -> SampleArtifacts:
    fleet = load_fleet(registry)
    archives: dict[str, Path] = {}
    left_out: dict[str, str] = {}
    workdir.mkdir(parents=True, exist_ok=True)
    detector = sample_models.yolov5_detector(workdir / "detector.onnx", ANIMAL_BOX)
    _, geofence = sample_release.write(workdir / "sample-geofence")
    for name in models:
        model = fleet.model(name)
        try:
            artifact_config(model)
        except NotPackageableError as reason:
            left_out[name] = str(reason)
            continue
        folder = workdir / name
        folder.mkdir(parents=True)
        archive = folder / "model.tar.gz"
        if model.family == "detector":
            build_artifact(model, detector, archive)
        elif model.family == SPECIESNET_FAMILY:
            build_artifact(
                model, _classifier(model, folder), archive, detector=detector, geofence=geofence
            )
        else:
            build_artifact(model, _classifier(model, folder), archive)
        archives[model.artifact_for(region)] = archive
    return SampleArtifacts(registry, archives, left_out)


def upload(emulator: Emulator, account: Account, region: str, artifacts: SampleArtifacts) -> None:
    """Into the artifact buckets of `account`, made where they do not exist yet."""
    s3 = emulator.client("s3", account, region)
    for uri, archive in artifacts.archives.items():
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
        s3.upload_file(str(archive), bucket, key)
