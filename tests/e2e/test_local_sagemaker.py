"""The whole chain: registry -> CloudFormation -> the image built by `cdk deploy` on the Docker
engine -> the artifact in S3 -> the endpoint's own container -> the Animl API's reading of the
answer, with the errors, throttling, metrics and alarms SageMaker gives."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.config import Config

from animl_emulator import sample_artifacts, sample_models
from animl_emulator.deployment import Deployment, deploy_environment
from animl_emulator.emulator import running_emulator
from animl_emulator.local_sagemaker.settings import CONTAINER_LABEL
from animl_ops.smoke import smoke_endpoint
from checkout import REPO_ROOT
from model_registry.loader import load_fleet
from tests.containers.conftest import b64, jpeg
from tests.registries import ANIML_ACCOUNT, FIXTURE_REGISTRY

REGION = "us-west-2"
IDLE_SECONDS = 8
#: What the fixture registry does not publish, so that no artifact can be built for it.
UNPACKAGEABLE = {
    "alitav3", "camera-trap-vehicle-classifier", "ircv2", "megadetector-v1000-0-0-redwood",
    "nzi-adsv1",
}  # fmt: skip
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


@dataclass
class LocalFleet:
    deployment: Deployment
    artifacts: sample_artifacts.SampleArtifacts
    workdir: Path

    def client(self, service: str, **kwargs):
        d = self.deployment
        return d.emulator.session(d.account, REGION).client(
            service, endpoint_url=d.emulator.url, **kwargs
        )

    @property
    def runtime(self):
        return self.client("sagemaker-runtime", config=NO_RETRIES)

    def image_uri(self) -> str:
        sagemaker = self.client("sagemaker")
        model = sagemaker.list_models()["Models"][0]["ModelName"]
        return sagemaker.describe_model(ModelName=model)["PrimaryContainer"]["Image"]


@pytest.fixture(scope="module")
def fleet(runtime_image, tmp_path_factory) -> Iterator[LocalFleet]:
    """The fixture registry (SpeciesNet with the sample release) deployed with its alarms into an
    emulator whose endpoints run their containers; every model that can be packaged has its
    sample artifact in S3."""
    workdir = tmp_path_factory.mktemp("local-sagemaker")
    registry = sample_artifacts.sample_registry(FIXTURE_REGISTRY, workdir / "model_registry")
    models = sorted(load_fleet(registry).models)
    artifacts = sample_artifacts.build(registry, models, REGION, workdir / "artifacts")
    with running_emulator(workdir, local_sagemaker=True, idle_seconds=IDLE_SECONDS) as emulator:
        account = emulator.account(ANIML_ACCOUNT)
        sample_artifacts.upload(emulator, account, REGION, artifacts)
        deployment = deploy_environment(emulator, registry, "animl", account, workdir)
        deployment.cli.deploy(deployment.synth("monitoring"), *deployment.monitoring_stacks)
        yield LocalFleet(deployment, artifacts, workdir)


def _containers(**labels: str) -> list[str]:
    filters = [f"--filter=label={k}={v}" for k, v in labels.items()]
    result = subprocess.run(
        ["docker", "ps", "-q", *filters], capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout.split()


def _metric(fleet: LocalFleet, endpoint: str, name: str, statistic: str) -> float | None:
    points = fleet.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=name,
        Dimensions=[
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=datetime.now(UTC) - timedelta(minutes=30),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=3600,
        Statistics=[statistic],
    )["Datapoints"]
    return points[0][statistic] if points else None


def test_the_cdk_deploy_put_the_image_on_the_engine(fleet):
    """The CLI builds (unless its inspect finds the asset of an earlier deploy) and tags on the
    engine; login and push, which have no registry to go to, are recorded only."""
    calls = fleet.deployment.cli.docker_calls()
    on_engine = {c["command"] for c in calls if c.get("engine")}
    assert "tag" in on_engine
    assert on_engine & {"inspect", "build"}
    assert {c["command"] for c in calls if not c.get("engine")} == {"login", "push"}
    (tag,) = [c for c in calls if c["command"] == "tag"]
    assert tag["target"] == fleet.image_uri()
    inspect = subprocess.run(
        ["docker", "image", "inspect", fleet.image_uri()], capture_output=True, timeout=30
    )
    assert inspect.returncode == 0


def test_every_packaged_model_answers_from_its_container_as_the_api_reads_it(fleet):
    assert set(fleet.artifacts.left_out) == UNPACKAGEABLE
    models = load_fleet(fleet.artifacts.registry).models
    ssm, sagemaker = fleet.client("ssm"), fleet.client("sagemaker")
    answered = {}
    for name, model in sorted(models.items()):
        if name in UNPACKAGEABLE:
            continue
        for kind, _ in model.endpoints.items():
            result = smoke_endpoint(ssm, sagemaker, fleet.runtime, model, kind, "prod")
            assert result.ok, result
            assert result.target == f"{name}-{kind}"
            if result.note:  # the answer is right, the record not yet public: labels unread
                assert result.note.startswith("labels not checked"), result
                assert model.unverified, result
            else:
                assert result.labels, result
            answered[result.target] = result.labels
    assert len(answered) == 13
    # The sample detector's one box, read by the API's megadetector interface: an animal.
    assert answered["megadetector-v5a-batch"] == ("1",)
    assert answered["speciesnetv401a-batch"]
    for endpoint in answered:
        assert _metric(fleet, endpoint, "Invocations", "Sum") >= 1
        assert _metric(fleet, endpoint, "ModelSetupTime", "SampleCount") >= 1
        assert _metric(fleet, endpoint, "Invocation5XXErrors", "Sum") == 0
        for name in ("ModelLatency", "OverheadLatency"):
            assert _metric(fleet, endpoint, name, "Maximum") > 0
        utilization = _metric(
            fleet, endpoint, "ServerlessConcurrentExecutionsUtilization", "Maximum"
        )
        assert 0 < utilization <= 1


def test_a_failing_dockerfile_step_fails_the_deploy_naming_it(fleet, tmp_path):
    containers = tmp_path / "containers"
    shutil.copytree(REPO_ROOT / "containers" / "animl-serve", containers / "animl-serve")
    dockerfile = containers / "animl-serve" / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "USER 1000", 'RUN python -c "import animl_missing"\nUSER 1000'
        )
    )
    d = fleet.deployment
    before = d.inventory()
    result = d.cli.run(
        "deploy", "--output", str(tmp_path / "cdk.out"), "--context",
        f"registry={fleet.artifacts.registry}", "--context", f"containers={containers}",
        "--require-approval", "never", d.stacks, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert 'RUN python -c "import animl_missing"' in output
    assert "No module named 'animl_missing'" in output
    assert d.inventory() == before


def test_smoke_invokes_the_container(fleet):
    d = fleet.deployment
    run = subprocess.run(
        [sys.executable, "-m", "animl_ops", "smoke", "animl", "nzdoc", "--json", "--registry",
         str(fleet.artifacts.registry)],
        cwd=REPO_ROOT, env=d.emulator.env(d.account, REGION), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    answer = json.loads(run.stdout)
    assert answer["ok"]
    assert answer["target"] == "nzdoc-batch"


def test_errors_are_those_sagemaker_returns(fleet):
    runtime = fleet.runtime
    with pytest.raises(runtime.exceptions.ModelError) as bad_body:
        runtime.invoke_endpoint(EndpointName="mirav2-batch", Body=b"{not json")
    assert bad_body.value.response["OriginalStatusCode"] == 400
    assert "not valid JSON" in bad_body.value.response["OriginalMessage"]
    assert bad_body.value.response["LogStreamArn"].startswith(
        f"arn:aws:logs:{REGION}:{ANIML_ACCOUNT}:log-group:/aws/sagemaker/Endpoints/mirav2-batch"
    )
    with pytest.raises(runtime.exceptions.ModelError) as wrong_type:
        runtime.invoke_endpoint(
            EndpointName="megadetector-v5a-batch",
            Body=jpeg(640, 480, (1, 2, 3)),
            ContentType="text/csv",
        )
    assert wrong_type.value.response["OriginalStatusCode"] == 415
    with pytest.raises(runtime.exceptions.ValidationError, match="exceeds the maximum"):
        runtime.invoke_endpoint(EndpointName="megadetector-v5a-batch", Body=b"x" * (4 * 2**20 + 1))
    with pytest.raises(runtime.exceptions.ValidationError, match="Endpoint ghost of account"):
        runtime.invoke_endpoint(EndpointName="ghost", Body=b"{}")


def _own_endpoint(fleet: LocalFleet, name: str, archive: Path, max_concurrency: int) -> None:
    """An endpoint outside the stacks, on the deployed image, with its own artifact."""
    s3, sagemaker = fleet.client("s3"), fleet.client("sagemaker")
    s3.upload_file(str(archive), "animl-model-zoo-us-west-2", f"tests/{name}/model.tar.gz")
    sagemaker.create_model(
        ModelName=name,
        ExecutionRoleArn=f"arn:aws:iam::{ANIML_ACCOUNT}:role/tests",
        PrimaryContainer={
            "Image": fleet.image_uri(),
            "ModelDataUrl": f"s3://animl-model-zoo-us-west-2/tests/{name}/model.tar.gz",
            "Environment": {"ANIML_INTRA_OP_THREADS": "1"},
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name,
            "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": max_concurrency},
        }],
    )  # fmt: skip
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)


def _packaged(fleet: LocalFleet, name: str, onnx: Path, labels: list[str], size: int) -> Path:
    from animl_serve.package import build

    folder = fleet.workdir / name
    config = folder / "animl-model.json"
    config.write_text(json.dumps({
        "name": name, "version": "1", "family": "crop-classifier", "labels": labels,
        "preprocessing": {"classifier": {"input_size": size, "normalization": "imagenet"}},
    }))  # fmt: skip
    build(onnx, config, folder / "model.tar.gz")
    return folder / "model.tar.gz"


def test_calls_over_max_concurrency_are_throttled_and_the_rest_answered(fleet):
    folder = fleet.workdir / "slow"
    folder.mkdir()
    onnx = sample_models.slow_classifier(folder / "slow.onnx", 2, 32, matmuls=1200)
    _own_endpoint(fleet, "slow", _packaged(fleet, "slow", onnx, ["a", "b"], 32), 2)
    body = json.dumps({"image": b64(jpeg(640, 480, (9, 9, 9))), "bbox": [0, 0, 1, 1]}).encode()
    runtime = fleet.runtime
    runtime.invoke_endpoint(EndpointName="slow", Body=body)  # the cold start, out of the way
    started = time.monotonic()
    runtime.invoke_endpoint(EndpointName="slow", Body=body)
    one_call = time.monotonic() - started
    outcomes: list[str] = []

    def call() -> None:
        try:
            runtime.invoke_endpoint(EndpointName="slow", Body=body)
            outcomes.append("answered")
        except runtime.exceptions.ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    holding = [threading.Thread(target=call) for _ in range(2)]
    for thread in holding:
        thread.start()
    # Both held calls are in the container (it serves one at a time) well before they finish.
    time.sleep(min(1.0, one_call / 3))
    extra = [threading.Thread(target=call) for _ in range(3)]
    for thread in extra:
        thread.start()
    for thread in holding + extra:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["ThrottlingException"] * 3 + ["answered"] * 2, one_call
    assert _metric(fleet, "slow", "ServerlessConcurrentExecutionsUtilization", "Maximum") == 1.0


def test_an_artifact_that_does_not_load_fails_the_endpoint_and_leaves_nothing_running(fleet):
    broken = fleet.workdir / "broken.tar.gz"
    with tarfile.open(broken, "w:gz") as tar:
        info = tarfile.TarInfo("animl-model.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    _own_endpoint(fleet, "broken", broken, 1)
    runtime = fleet.runtime
    with pytest.raises(runtime.exceptions.ValidationError, match="did not pass the ping health"):
        runtime.invoke_endpoint(EndpointName="broken", Body=b"{}")
    described = fleet.client("sagemaker").describe_endpoint(EndpointName="broken")
    assert described["EndpointStatus"] == "Failed"
    assert "animl-model.json" in described["FailureReason"]
    assert _containers(**{"animl-endpoint": "broken"}) == []


def test_5xx_traffic_of_a_broken_model_puts_its_alarm_into_alarm(fleet):
    """nzdoc's batch artifact replaced by a model that fails on bright crops; five white images
    are five 5xx answers, the 5xx alarm's threshold."""
    model = load_fleet(fleet.artifacts.registry).models["nzdoc"]
    folder = fleet.workdir / "nzdoc-broken"
    folder.mkdir()
    onnx = sample_models.fails_on_bright_crops(folder / "bright.onnx", len(model.class_ids), 480)
    from animl_ops.artifact_build import build_artifact

    build_artifact(model, onnx, folder / "model.tar.gz")
    uri = model.artifact_for(REGION)
    fleet.client("s3").upload_file(str(folder / "model.tar.gz"), *uri[5:].split("/", 1))
    # The next cold start reads the new artifact.
    _wait_until(lambda: _cold(fleet, "nzdoc-batch"), timeout=IDLE_SECONDS * 6)
    cloudwatch, runtime = fleet.client("cloudwatch"), fleet.runtime
    white = json.dumps(
        {"image": b64(jpeg(640, 480, (255, 255, 255))), "bbox": [0, 0, 1, 1]}
    ).encode()
    for _ in range(5):
        with pytest.raises(runtime.exceptions.ModelError) as error:
            runtime.invoke_endpoint(EndpointName="nzdoc-batch", Body=white)
        assert error.value.response["OriginalStatusCode"] == 500
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["nzdoc-batch-5xx-errors"])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM", alarm
    latency = cloudwatch.describe_alarms(AlarmNames=["nzdoc-batch-model-latency"])["MetricAlarms"]
    assert latency[0]["StateValue"] != "ALARM"


def _cold(fleet: LocalFleet, endpoint: str) -> bool:
    return not _containers(**{"animl-endpoint": endpoint})


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_an_idle_endpoint_scales_to_zero_and_starts_cold_again(fleet):
    runtime, endpoint = fleet.runtime, "sdzwa-andesv1-batch"
    body = json.dumps({"image": b64(jpeg(640, 480, (200, 10, 10))), "bbox": [0, 0, 1, 1]}).encode()
    runtime.invoke_endpoint(EndpointName=endpoint, Body=body)
    assert _containers(**{"animl-endpoint": endpoint})
    cold_starts = _metric(fleet, endpoint, "ModelSetupTime", "SampleCount")
    _wait_until(lambda: _cold(fleet, endpoint), timeout=IDLE_SECONDS * 6)
    runtime.invoke_endpoint(EndpointName=endpoint, Body=body)
    assert _metric(fleet, endpoint, "ModelSetupTime", "SampleCount") == cold_starts + 1


def test_the_emulator_removes_its_containers_when_it_stops(runtime_image, tmp_path):
    with running_emulator(tmp_path, local_sagemaker=True) as emulator:
        label = emulator.local_sagemaker.label
        subprocess.run(
            ["docker", "run", "-d", "--label", f"{CONTAINER_LABEL}={label}", runtime_image,
             "serve"], capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        assert _containers(**{CONTAINER_LABEL: label})
    assert _containers(**{CONTAINER_LABEL: label}) == []


def test_quota_plan_reads_what_real_invocations_published(fleet):
    """A short replay through InvokeEndpoint: one call at a time on nzdoc-batch (80) is a peak of
    one in flight, which the plan sizes to its floor, and every call is counted."""
    d = fleet.deployment

    def plan() -> dict:
        run = subprocess.run(
            [sys.executable, "-m", "animl_ops", "quota", "plan", "-e", "animl", "--days", "1",
             "--json", "--registry", str(fleet.artifacts.registry)],
            cwd=REPO_ROOT, env=d.emulator.env(d.account, REGION), capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        return {p["endpoint"]: p for p in json.loads(run.stdout)["endpoints"]}

    before = plan()["nzdoc-batch"]["invocations"]
    body = json.dumps({"image": b64(jpeg(640, 480, (200, 40, 40))), "bbox": [0, 0, 1, 1]})
    for _ in range(5):
        fleet.runtime.invoke_endpoint(EndpointName="nzdoc-batch", Body=body.encode())
    after = plan()["nzdoc-batch"]
    assert after["invocations"] == before + 5
    assert (after["current"], after["peak"], after["recommended"]) == (80, 1, 2)
    assert after["latency_p50_ms"] is not None
    assert after["latency_p50_ms"] > 0
