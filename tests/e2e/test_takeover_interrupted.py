"""The take-over stopped after every AWS call that changes the account, then run again.

One model's batch endpoint, with a quota so tight that its predecessor is lowered first, walks
through every kind of step (adopt, lower, create, flip, import, delete). An uninterrupted run
records its changing calls; then, in a fresh account each time, a run is stopped right after
call n and a second run finishes the take-over. The two runs together make exactly the calls of
the uninterrupted one (nothing repeated, nothing skipped), the sampler finds no invariant broken,
and the account ends as the uninterrupted run leaves it: no hand-made endpoint, config or model,
no change set, the parameters the stack's.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import boto3
import pytest

from animl_emulator.emulator import Account, Emulator
from animl_ops.aws_account import AwsAccount
from animl_ops.cdk_runner import Assembly, CdkRunner
from animl_ops.migration_run import Takeover, run
from animl_ops.migration_state import MigrationError
from animl_ops.migration_steps import Executor
from animl_ops.migration_targets import targets
from model_registry.loader import load_fleet
from model_registry.naming import PARAMETER_PREFIX
from tests.e2e.handmade_fleet import seed, with_own_images
from tests.e2e.takeover_invariants import Sampler
from tests.registries import ANIML_ACCOUNT, FIXTURE_REGISTRY, RegistryCopy

REGION = "us-west-2"
MODEL = "mirav2"
HANDMADE_CONCURRENCY = 80
# 40 free beside the hand-made 80: the new endpoint's 80 needs its predecessor lowered to 40.
QUOTA = HANDMADE_CONCURRENCY + 40
DRAIN = timedelta(seconds=1)
CHANGING = ("Add", "Create", "Delete", "Execute", "Put", "Update")


class Stopped(Exception):  # noqa: N818 - reads as what happened to the run
    pass


@dataclass
class CallLog:
    """Every call that changes the account; raises Stopped right after call number
    `stop_after`, or the first `stop_on` call."""

    stop_after: int | None = None
    stop_on: str | None = None

    def __post_init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model, **_) -> None:
        if model.name.startswith(CHANGING):
            self.calls.append(model.name)
            if len(self.calls) == self.stop_after or model.name == self.stop_on:
                raise Stopped(model.name)


@pytest.fixture(scope="module")
def one_model(tmp_path_factory) -> tuple[RegistryCopy, Assembly]:
    """The fixture registry cut to mirav2's batch endpoint, synthesized once."""
    workdir = tmp_path_factory.mktemp("interrupted")
    shutil.copytree(FIXTURE_REGISTRY, workdir / "model_registry")
    registry = RegistryCopy(workdir / "model_registry")
    for path in registry.models.glob("*.yaml"):
        if path.stem != MODEL:
            path.unlink()

    def batch_only(model: dict) -> None:
        model["endpoints"] = {"batch": model["endpoints"]["batch"]}

    registry.edit_model(MODEL, batch_only)
    with_own_images(registry, ANIML_ACCOUNT, REGION)
    return registry, CdkRunner(registry.root, workdir).synth("target")


@pytest.fixture
def fresh_account(
    emulator: Emulator, one_model, monkeypatch
) -> Callable[[CallLog], tuple[Account, Takeover, Executor]]:
    """A new account holding the hand-made endpoint, and a take-over of it in process."""
    registry, assembly = one_model
    fleet = load_fleet(registry.root)
    environment = fleet.environment("animl")
    numbers = iter(range(10**6))

    def make(log: CallLog) -> tuple[Account, Takeover, Executor]:
        account = emulator.assume_account(f"3{next(numbers):011d}")
        for key, value in emulator.env(account, REGION).items():
            monkeypatch.setenv(key, value)
        seed(emulator, account, REGION, registry)
        # The stacks' BootstrapVersion parameter, as `cdk bootstrap` writes it.
        manifest = assembly.directory / "manifest.json"
        version = next(
            a["properties"]["bootstrapStackVersionSsmParameter"]
            for a in json.loads(manifest.read_text())["artifacts"].values()
            if a["type"] == "cdk:asset-manifest"
        )
        emulator.client("ssm", account, REGION).put_parameter(
            Name=version, Value="30", Type="String"
        )
        aws = AwsAccount(boto3.Session(region_name=REGION))
        for service in ("sagemaker", "ssm", "cloudformation", "s3"):
            aws.client(service).meta.events.register("after-call", log)
        found = targets(assembly, environment, fleet.models_of(environment))
        takeover = Takeover(fleet, environment, aws, assembly, found, QUOTA, poll_s=0.05)
        executor = Executor(
            aws, assembly, assembly.file_assets_bucket(found[0].stack), lambda t, e: None,
            keep_configs=False, poll_s=0.05,
        )  # fmt: skip
        return account, takeover, executor

    return make


def values(ssm) -> dict[str, str]:
    found = ssm.get_parameters_by_path(Path=PARAMETER_PREFIX, Recursive=True)["Parameters"]
    return {p["Name"]: p["Value"] for p in found}


def _sampler(emulator: Emulator, account: Account, takeover: Takeover) -> Sampler:
    parameters = {p for t in takeover.targets for p in t.parameters}
    sampler = Sampler(emulator, account, REGION, parameters, QUOTA, DRAIN.total_seconds())
    sampler.start()
    return sampler


def _account_holds(emulator: Emulator, account: Account, takeover: Takeover) -> dict:
    sagemaker = emulator.client("sagemaker", account, REGION)
    ssm = emulator.client("ssm", account, REGION)
    cloudformation = emulator.client("cloudformation", account, REGION)
    (target,) = takeover.targets
    return {
        "endpoints": sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]),
        "configs": len(sagemaker.list_endpoint_configs()["EndpointConfigs"]),
        "models": len(sagemaker.list_models()["Models"]),
        "change sets": cloudformation.list_change_sets(StackName=target.stack)["Summaries"],
        "parameters": {
            p: ssm.get_parameter(Name=p)["Parameter"]["Value"] for p in target.parameters
        },
        "stack owns": sorted(
            r["ResourceType"]
            for r in cloudformation.list_stack_resources(StackName=target.stack)[
                "StackResourceSummaries"
            ]
        ),
    }


def test_a_takeover_stopped_after_any_call_finishes_on_the_next_run(emulator, fresh_account):
    log = CallLog()
    account, takeover, executor = fresh_account(log)
    sampler = _sampler(emulator, account, takeover)
    try:
        assert run(takeover, executor, DRAIN, None, lambda line: None)
    finally:
        sampler.stop()
    assert sampler.violations == [], sampler.violations[:5]
    uninterrupted = log.calls
    expected = _account_holds(emulator, account, takeover)
    # Every kind of step made its calls: adopt, lower, create, flip, import, delete.
    assert {"AddTags", "UpdateEndpoint", "ExecuteChangeSet", "PutParameter",
            "DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"} <= set(uninterrupted)  # fmt: skip
    assert uninterrupted.count("ExecuteChangeSet") == 2  # the create and the import
    assert expected["endpoints"] == [f"{MODEL}-batch"]
    assert expected["change sets"] == []
    assert set(expected["parameters"].values()) == {f"{MODEL}-batch"}
    assert expected["stack owns"].count("AWS::SSM::Parameter") == 2

    for n in range(1, len(uninterrupted) + 1):
        first = CallLog(stop_after=n)
        account, takeover, executor = fresh_account(first)
        sampler = _sampler(emulator, account, takeover)
        try:
            with pytest.raises(Stopped):
                run(takeover, executor, DRAIN, None, lambda line: None)
            second = CallLog()
            for service in ("sagemaker", "ssm", "cloudformation", "s3"):
                takeover.account.client(service).meta.events.unregister("after-call", first)
                takeover.account.client(service).meta.events.register("after-call", second)
            assert run(takeover, executor, DRAIN, None, lambda line: None)
        finally:
            sampler.stop()
        where = f"stopped after call {n} ({uninterrupted[n - 1]})"
        assert sampler.violations == [], (where, sampler.violations[:5])
        assert first.calls + second.calls == uninterrupted, where
        assert _account_holds(emulator, account, takeover) == expected, where


def test_a_hand_change_in_the_middle_is_refused_before_any_further_change(emulator, fresh_account):
    log = CallLog(stop_on="ExecuteChangeSet")  # the create's: the stack holds the endpoint
    account, takeover, executor = fresh_account(log)
    with pytest.raises(Stopped):
        run(takeover, executor, DRAIN, None, lambda line: None)
    sagemaker = emulator.client("sagemaker", account, REGION)
    ssm = emulator.client("ssm", account, REGION)
    managed = f"{MODEL}-batch"
    # Someone points the managed endpoint at the hand-made config.
    handmade_config = sagemaker.describe_endpoint(
        EndpointName=f"{MODEL}-concurrency-{HANDMADE_CONCURRENCY}"
    )["EndpointConfigName"]
    sagemaker.update_endpoint(EndpointName=managed, EndpointConfigName=handmade_config)
    before = values(ssm)
    log.stop_on = None
    changes = len(log.calls)
    with pytest.raises(MigrationError, match=f"{managed} runs config {handmade_config}, not its "
                       "stack's .*: someone changed it by hand"):  # fmt: skip
        run(takeover, executor, DRAIN, None, lambda line: None)
    assert len(log.calls) == changes
    assert values(ssm) == before


def test_a_stack_deleted_out_of_band_before_the_flip_is_created_again(emulator, fresh_account):
    log = CallLog(stop_on="ExecuteChangeSet")
    account, takeover, executor = fresh_account(log)
    with pytest.raises(Stopped):
        run(takeover, executor, DRAIN, None, lambda line: None)
    cloudformation = emulator.client("cloudformation", account, REGION)
    cloudformation.delete_stack(StackName=takeover.targets[0].stack)
    log.stop_on = None
    assert run(takeover, executor, DRAIN, None, lambda line: None)
    assert _account_holds(emulator, account, takeover)["endpoints"] == [f"{MODEL}-batch"]
