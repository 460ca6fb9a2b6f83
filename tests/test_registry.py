"""The registry schema and loader: the fixture registry, and one broken file per rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from model_registry.loader import load_fleet
from model_registry.registry_files import RegistryError
from model_registry.schema import ModelSpec
from tests.ops.conftest import registry_artifact
from tests.registries import ANIML_ACCOUNT, FIXTURE_REGISTRY, fixture_fleet

ANIML_MODELS = {
    "megadetector-v5a": {"realtime", "batch"},
    "megadetector-v5b": {"realtime", "batch"},
    "megadetector-v1000-0-0-redwood": {"realtime", "batch"},
    "mirav2": {"realtime", "batch"},
    "nzdoc": {"batch"},
    "sdzwa-southwestv3": {"realtime", "batch"},
    "sdzwa-andesv1": {"batch"},
    "deepfaune-ne": {"batch"},
    "speciesnetv401a": {"realtime", "batch"},
    "ircv2": {"batch"},
    "camera-trap-vehicle-classifier": {"batch"},
    "alitav3": {"batch"},
    "nzi-adsv1": {"realtime", "batch"},
}


def problems_of(registry_root: Path) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        load_fleet(registry_root)
    return [str(p) for p in caught.value.problems]


def test_the_fixture_registry_describes_the_animl_fleet():
    fleet = fixture_fleet()
    assert {name: {k for k, _ in m.endpoints.items()} for name, m in fleet.models.items()} == (
        ANIML_MODELS
    )
    animl = next(e for e in fleet.environments if e.name == "animl")
    assert (animl.region, animl.stages, animl.concurrency_quota) == (
        "us-west-2",
        ("dev", "prod"),
        1000,
    )
    endpoints = [s for m in fleet.models_of(animl) for _, s in m.endpoints.items()]
    assert len(endpoints) == 20
    assert sum(s.max_concurrency for s in endpoints) == 940
    assert {s.memory_mb for s in endpoints} == {6144}


def test_partner_environment_is_a_subset_in_another_region_with_that_regions_default_quota():
    fleet = fixture_fleet()
    partner = next(e for e in fleet.environments if e.name == "partner-example")
    assert partner.region != "us-west-2"
    declared = yaml.safe_load((FIXTURE_REGISTRY / "environments.yaml").read_text())
    assert "concurrency_quota" not in declared["environments"][1]
    assert partner.concurrency_quota == 500
    assert set(partner.models) < set(fleet.models)


def test_classes_file_and_inline_classes_both_load():
    fleet = fixture_fleet()
    deepfaune = fleet.models["deepfaune-ne"]
    assert len(deepfaune.class_ids) == 24
    bird = next(c for c in deepfaune.classes if c.id == "Bird sp.")
    assert bird.name == "Bird sp"
    md = fleet.models["megadetector-v5a"]
    assert [(c.id, c.name) for c in md.classes] == [
        ("1", "animal"),
        ("2", "person"),
        ("3", "vehicle"),
    ]
    assert fleet.models["nzi-adsv1"].classes == ()
    assert "classes" in fleet.models["nzi-adsv1"].unverified


def test_region_placeholder_resolves_per_environment():
    spec = fixture_fleet().models["mirav2"]
    assert (
        spec.artifact_for("ca-central-1")
        == "s3://animl-model-zoo-ca-central-1/mirav2/2.0/model.tar.gz"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("memory_mb", 5000, "endpoints.batch.memory_mb: 5000 must be 1024..6144 in steps of 1024"),
        ("memory_mb", 7168, "endpoints.batch.memory_mb: 7168 must be 1024..6144 in steps of 1024"),
        ("memory_mb", 0, "endpoints.batch.memory_mb: 0 must be 1024..6144 in steps of 1024"),
        ("max_concurrency", 0, "endpoints.batch.max_concurrency: 0 must be 1..200"),
        ("max_concurrency", 201, "endpoints.batch.max_concurrency: 201 must be 1..200"),
        (
            "max_concurrency",
            "many",
            "endpoints.batch.max_concurrency: 'many': Input should be a valid integer",
        ),
        (
            "provisioned_concurrency",
            81,
            "endpoints.batch: provisioned_concurrency: 81 must be 1..max_concurrency (80)",
        ),
        (
            "provisioned_concurrency",
            0,
            "endpoints.batch: provisioned_concurrency: 0 must be 1..max_concurrency (80)",
        ),
        (
            "environment",
            {"OMP_NUM_THREADS": 2},
            "endpoints.batch.environment.OMP_NUM_THREADS: 2 must be a string; quote it in YAML",
        ),
        (
            "environment",
            {"1BAD": "x"},
            "endpoints.batch.environment: '1BAD' is not a valid environment variable name",
        ),
        (
            "environment",
            {"LONG": "x" * 1025},
            "endpoints.batch.environment: LONG: value is 1025 characters; the limit is 1024",
        ),
        ("colour", "red", "endpoints.batch.colour: unknown key"),
        (
            "alarms",
            {"model_latency_seconds": 90},
            "endpoints.batch.alarms.model_latency_seconds: 90: Input should be less than or equal to 60",
        ),
        (
            "alarms",
            {"concurrency_utilization": 1.5},
            "endpoints.batch.alarms.concurrency_utilization: 1.5: Input should be less than or equal to 1",
        ),
        ("alarms", {"latency": 30}, "endpoints.batch.alarms.latency: unknown key"),
    ],
)
def test_endpoint_rules_name_file_and_field(registry, field, value, message):
    registry.edit_model("mirav2", lambda d: d["endpoints"]["batch"].__setitem__(field, value))
    problems = problems_of(registry.root)
    assert any(
        p.startswith(str(registry.models / "mirav2.yaml")) and message in p for p in problems
    ), problems


def test_valid_provisioned_concurrency_and_environment_load(registry):
    def edit(d):
        d["endpoints"]["batch"].update(
            provisioned_concurrency=80, environment={"OMP_NUM_THREADS": "2"}
        )

    registry.edit_model("mirav2", edit)
    batch = load_fleet(registry.root).models["mirav2"].endpoints.batch
    assert (batch.provisioned_concurrency, dict(batch.environment)) == (
        80,
        {"OMP_NUM_THREADS": "2"},
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("endpoints"), "endpoints: required field is missing"),
        (
            lambda d: d.update(endpoints={}),
            "endpoints: declare at least one endpoint: batch and/or realtime",
        ),
        (lambda d: d.update(endpoints={"streaming": {}}), "endpoints.streaming: unknown key"),
        (lambda d: d.update(owner="ops"), "owner: unknown key"),
        (
            lambda d: d.update(name="MiraV2"),
            "name: 'MiraV2' must be lowercase letters and digits joined by single hyphens",
        ),
        (
            lambda d: d.update(name="mira--v2"),
            "name: 'mira--v2' must be lowercase letters and digits joined by single hyphens",
        ),
        (lambda d: d.update(name="mira"), "name: 'mira' must match the file name 'mirav2.yaml'"),
        (lambda d: d.update(version=2.0), "version: 2.0 must be a string; quote it in YAML"),
        (
            lambda d: d.update(family="segmenter"),
            "family: 'segmenter': Input should be 'detector', 'crop-classifier' or 'speciesnet'",
        ),
        (
            lambda d: d.update(container="missing"),
            "container: containers/missing/Dockerfile does not exist",
        ),
        (
            lambda d: d.update(container="../containers"),
            "container: '../containers' must be a folder name under containers/",
        ),
        (
            lambda d: d.update(image="830244800171.dkr.ecr.us-west-2.amazonaws.com/mirav2:v2"),
            "container: give either container (a folder) or image (ECR)",
        ),
        (
            lambda d: d.pop("container"),
            "container: give either container (a folder) or image (ECR)",
        ),
        (
            lambda d: d.update(artifact_kms_key="alias/animl-models"),
            "artifact_kms_key: 'alias/animl-models' must be a KMS key ARN",
        ),
        (
            lambda d: d.update(image="docker.io/library/python:3.11"),
            "image: 'docker.io/library/python:3.11' must be an Amazon ECR image",
        ),
        (
            lambda d: d.update(image="830244800171.dkr.ecr.us-west-2.amazonaws.com/Mira:v2"),
            "must be an Amazon ECR image, ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG",
        ),
        (
            lambda d: d.update(image="830244800171.dkr.ecr.us-west-2.amazonaws.com/mira@sha256:12"),
            "must be an Amazon ECR image",
        ),
        (
            lambda d: d.update(artifact="s3://Bad_Bucket/model.tar.gz"),
            "artifact: 's3://Bad_Bucket/model.tar.gz' must be s3://<bucket>/<key>.tar.gz with a valid bucket name",
        ),
        (
            lambda d: d.update(artifact="s3://animl-models/model.zip"),
            "must be s3://<bucket>/<key>.tar.gz",
        ),
        (
            lambda d: d.update(artifact="https://example.com/model.tar.gz"),
            "only s3:// URIs or local .tar.gz files are supported",
        ),
        (
            lambda d: d.update(artifact="weights/model.tar.gz"),
            "artifact: local artifact 'weights/model.tar.gz' does not exist",
        ),
        (
            lambda d: d.update(artifact="weights/model.onnx"),
            "artifact: 'weights/model.onnx' must be a model.tar.gz archive",
        ),
        (
            lambda d: d["preprocessing"]["classifier"].update(input_size=4),
            "preprocessing.classifier.input_size.0: 4: Input should be greater than or equal to 8",
        ),
        (
            lambda d: d["preprocessing"]["classifier"].update(crop="circle"),
            "preprocessing.classifier.crop: 'circle': Input should be 'square', 'buffered' or 'box'",
        ),
        (
            lambda d: d["preprocessing"]["classifier"].pop("normalization"),
            "preprocessing.classifier.normalization: required field is missing",
        ),
        (
            lambda d: d.pop("preprocessing"),
            "preprocessing: required unless marked unverified",
        ),
        (
            lambda d: d["records"][0].update(default_confidence_threshold=1.5),
            "records.0.default_confidence_threshold: 1.5: Input should be less than or equal to 1",
        ),
        (
            lambda d: d["records"][0].pop("version"),
            "records.0.version: required unless marked unverified",
        ),
        (lambda d: d["records"][0].pop("expects_crops"), "records.0.expects_crops: required"),
        (lambda d: d.update(records=[]), "records: []: Tuple should have at least 1 item"),
        (
            lambda d: d.update(unverified={"size": "x"}),
            "unverified.size: 'size': must be 'classes', 'colors', 'version'",
        ),
        (
            lambda d: d.update(classes=[]),
            "classes: give at least one class, or mark classes unverified",
        ),
        (lambda d: d.update(classes=["fox", "fox"]), "classes: duplicate ids ['fox']"),
        (lambda d: d.update(classes=["fox", "Fox"]), "classes: duplicate names ['fox']"),
        (
            lambda d: d.update(classes=[{"id": "Bird sp.", "name": "Bird sp."}]),
            "classes.0.name: 'Bird sp.' contains '.', which a MongoDB key cannot hold",
        ),
        (
            lambda d: d.update(classes=[{"id": "fox", "name": "fox", "color": "red"}]),
            "classes.0.color: 'red' must be a colour as #RRGGBB",
        ),
        (
            lambda d: d.update(classes=[" fox"]),
            "classes: ' fox' must be non-empty with no leading or trailing spaces",
        ),
        (
            lambda d: d.update(classes_file="nope.txt"),
            "give either classes or classes_file, not both",
        ),
        (
            lambda d: (d.pop("classes"), d.update(classes_file="nope.txt")),
            "classes_file: 'nope.txt' does not exist",
        ),
    ],
)
def test_model_rules_name_file_and_field(registry, edit, message):
    path = registry.edit_model("mirav2", edit)
    problems = problems_of(registry.root)
    assert any(p.startswith(f"{path}: ") and message in p for p in problems), problems


def test_an_image_in_ecr_replaces_the_container_folder(registry):
    digest = "sha256:" + "a" * 64
    image = f"830244800171.dkr.ecr.us-west-2.amazonaws.com/animl/torchserve-mirav2@{digest}"
    registry.edit_model("mirav2", lambda d: d.pop("container") and d.update(image=image))
    environments = registry.environments()
    environments["environments"] = environments["environments"][:1]
    registry.write_environments(environments)
    spec = load_fleet(registry.root).models["mirav2"]
    assert spec.image_parts == {
        "account": "830244800171",
        "region": "us-west-2",
        "repository": "animl/torchserve-mirav2",
    }


def test_an_image_in_another_region_than_the_environment_is_refused(registry):
    image = "830244800171.dkr.ecr.us-west-2.amazonaws.com/torchserve-mirav2:v2"
    registry.edit_model("mirav2", lambda d: d.pop("container") and d.update(image=image))
    problems = problems_of(registry.root)
    assert any(
        "environments.yaml: environments.partner-example.models: 'mirav2' runs image "
        f"{image}, in us-west-2; SageMaker pulls images only from the endpoint's region "
        "ca-central-1" in p
        for p in problems
    ), problems


def test_model_name_longer_than_an_endpoint_name_allows_is_rejected(registry):
    name = "m" * 55
    data = registry.model("mirav2") | {"name": name}
    registry.write_model(name, data)
    assert any("is 55 characters; the limit is 54" in p for p in problems_of(registry.root))


def test_a_label_with_a_dot_keeps_it_and_its_name_loses_it(registry):
    registry.edit_model("mirav2", lambda d: d.update(classes=["Bird sp.", "fox", "a", "b", "c"]))
    bird = load_fleet(registry.root).models["mirav2"].classes[0]
    assert (bird.id, bird.name) == ("Bird sp.", "Bird sp")


def test_bad_class_in_a_classes_file_names_the_line(registry):
    classes = registry.root / "classes" / "deepfaune-ne.txt"
    classes.write_text(classes.read_text().replace("Black Bear\n", "Black Bear\nBlack bear\n"))
    problems = problems_of(registry.root)
    assert any(
        "deepfaune-ne.yaml: classes: duplicate names ['black bear']" in p for p in problems
    ), problems
    classes.write_text(classes.read_text().replace("Bobcat\n", "{Bobcat\n"))
    registry.edit_model("deepfaune-ne", lambda d: d.update(classes_file="../classes/missing.txt"))
    problems = problems_of(registry.root)
    assert any("classes_file: '../classes/missing.txt' does not exist" in p for p in problems)


def test_a_classes_file_that_is_not_utf8_is_one_line_naming_it(registry):
    (registry.root / "classes" / "deepfaune-ne.txt").write_bytes(b"Bear\n\xff\xfeFox\n")
    problems = problems_of(registry.root)
    assert any(
        "deepfaune-ne.yaml: classes_file deepfaune-ne.txt: not UTF-8 text (byte 5)" in p
        for p in problems
    ), problems


def test_a_model_file_that_is_not_utf8_is_one_line_naming_it(registry):
    path = registry.models / "mirav2.yaml"
    path.write_bytes(path.read_bytes().replace(b"Santa Cruz", b"Santa Cr\xfaz"))
    problems = problems_of(registry.root)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: not UTF-8 text (byte ")


def test_local_artifact_is_resolved_next_to_the_model_file(registry, tmp_path):
    (registry.models / "artifacts").mkdir()
    registry_artifact(registry.models / "artifacts", "mirav2")
    registry.edit_model("mirav2", lambda d: d.update(artifact="artifacts/model.tar.gz"))
    spec = load_fleet(registry.root).models["mirav2"]
    assert spec.artifact_is_local
    assert spec.artifact_for("us-west-2") == str(
        (registry.models / "artifacts" / "model.tar.gz").resolve()
    )


def test_a_local_artifact_that_disagrees_with_the_registry_fails_naming_both_files(registry):
    folder = registry.models / "artifacts"
    archive = registry_artifact(folder, "mirav2", version="2.1", labels=("a", "b", "c", "d", "e"))
    registry.edit_model("mirav2", lambda d: d.update(artifact="artifacts/model.tar.gz"))
    problems = problems_of(registry.root)
    where = f"{registry.models / 'mirav2.yaml'}: artifact ({archive}:animl-model.json)"
    assert f"{where} labels: registry 5, artifact 5; only in the registry ['bird', 'fox', " in (
        "\n".join(problems)
    )
    assert (
        f"{where} version: registry '2.0', artifact '2.1': the artifact disagrees with the registry"
        in problems
    )
    archive.write_bytes(b"\x1f\x8b broken")
    assert any(
        f"{where}: {archive}: not a readable .tar.gz" in p for p in problems_of(registry.root)
    )


def test_malformed_yaml_names_file_line_and_column(registry):
    path = registry.models / "mirav2.yaml"
    path.write_text("name: mirav2\n  endpoints: [\n")
    problems = problems_of(registry.root)
    assert any(
        re.match(rf"{re.escape(str(path))}: line 2, column \d+: malformed YAML: ", p)
        for p in problems
    ), problems


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(registry):
    path = registry.models / "mirav2.yaml"
    text = path.read_text()
    path.write_text(text + "family: detector\n")
    line = len(text.splitlines()) + 1
    assert f"{path}: line {line}, column 1: malformed YAML: duplicate key 'family'" in problems_of(
        registry.root
    )


def test_a_file_that_is_not_a_mapping_is_rejected(registry):
    path = registry.models / "mirav2.yaml"
    path.write_text("- just\n- a list\n")
    assert f"{path}: must be a YAML mapping of field: value" in problems_of(registry.root)


def test_duplicate_model_names_are_rejected(registry):
    registry.write_model("mirav2", registry.model("mirav2"), file_name="mirav2.yml")
    problems = problems_of(registry.root)
    assert any("name: duplicate model 'mirav2', also in" in p for p in problems), problems


def test_empty_models_folder_is_rejected(registry):
    for path in registry.models.glob("*.yaml"):
        path.unlink()
    assert any("no model files (*.yaml) found" in p for p in problems_of(registry.root))


def test_all_problems_are_reported_at_once(registry):
    registry.edit_model("mirav2", lambda d: d["endpoints"]["batch"].update(memory_mb=5000))
    registry.edit_model("ircv2", lambda d: d.update(container="missing"))
    (registry.models / "broken.yaml").write_text("name: [\n")
    problems = problems_of(registry.root)
    assert len(problems) == 3
    assert [Path(p.split(":")[0]).name for p in problems] == [
        "broken.yaml",
        "ircv2.yaml",
        "mirav2.yaml",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda e: e[0].update(account=123456789012),
            "environments.animl.account: 123456789012 must be a string; quote it in YAML",
        ),
        (
            lambda e: e[0].update(account="12345"),
            "environments.animl.account: '12345': String should match pattern",
        ),
        (
            lambda e: e[0].update(region="mars-1"),
            "environments.animl.region: 'mars-1': String should match pattern",
        ),
        (
            lambda e: e[0].update(stages=["dev", "dev"]),
            "environments.animl.stages: duplicate stages in ['dev', 'dev']",
        ),
        (
            lambda e: e[0].update(stages=[]),
            "environments.animl.stages: []: Tuple should have at least 1 item",
        ),
        (
            lambda e: e[0].update(models=["mirav2", "ghost"]),
            "environments.animl.models.1: unknown model 'ghost' (no models/ghost.yaml)",
        ),
        (
            lambda e: e[0].update(concurrency_quota=0),
            "environments.animl.concurrency_quota: 0: Input should be greater than or equal to 1",
        ),
        (
            lambda e: e[0].update(quota_warning_ratio=1.5),
            "environments.animl.quota_warning_ratio: 1.5: Input should be less than or equal to 1",
        ),
        (
            lambda e: e[0].update(shards=4),
            "environments.animl.shards: unknown key (did you mean 'stack_shards'?)",
        ),
        (
            lambda e: e[0].update(models="al"),
            "environments.animl.models: 'al': must be 'all' or a list",
        ),
        (
            lambda e: e[0].update(models=["mirav2", "mirav22"]),
            "environments.animl.models.1: unknown model 'mirav22' (no models/mirav22.yaml) "
            "(did you mean 'mirav2'?)",
        ),
        (
            lambda e: e[0].update(endpoint_kms_key="arn:aws:kms:us-west-2:1:key/x"),
            "environments.animl.endpoint_kms_key: 'arn:aws:kms:us-west-2:1:key/x' must be a KMS key ARN",
        ),
        (lambda e: e.append(dict(e[0])), "environments.2.name: duplicate environment 'animl'"),
        (
            lambda e: e.append(
                dict(e[1], name="second", account=e[0]["account"], region=e[0]["region"])
            ),
            f"environments.second.models: 'megadetector-v5a' is already deployed to {ANIML_ACCOUNT}/us-west-2 by environment 'animl'",
        ),
        (
            lambda e: e.append(
                dict(
                    e[1],
                    name="second",
                    account=e[0]["account"],
                    region=e[0]["region"],
                    models=[],
                    concurrency_quota=900,
                )
            ),
            f"environments.second: shares account {ANIML_ACCOUNT} in us-west-2 with environment 'animl' but declares other quotas",
        ),
    ],
)
def test_environment_rules_name_file_and_field(registry, edit, message):
    data = registry.environments()
    edit(data["environments"])
    registry.write_environments(data)
    problems = problems_of(registry.root)
    assert any(
        p.startswith(f"{registry.root / 'environments.yaml'}: ") and message in p for p in problems
    ), problems


def test_missing_environments_file_is_reported(registry):
    (registry.root / "environments.yaml").unlink()
    assert any("the environments file does not exist" in p for p in problems_of(registry.root))


def test_model_spec_is_immutable():
    spec = fixture_fleet().models["mirav2"]
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "other"
    assert isinstance(spec, ModelSpec)
