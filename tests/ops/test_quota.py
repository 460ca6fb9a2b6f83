"""`quota`: planned from the registry, and `--live` against the emulator's account."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from animl_ops.cli_common import aws_failure
from animl_ops.inventory import DeployedEndpoint, Inventory
from animl_ops.plan import planned_endpoints
from animl_ops.quota import live_usage, planned_usage, read_quota
from tests.ops.conftest import deploy_by_hand, run_ops
from tests.registries import ANIML_ACCOUNT, fixture_fleet


def test_planned_usage_per_account_and_region():
    run = run_ops("quota", "--json")
    assert run.returncode == 0, run.stderr
    usage = {(u["account"], u["region"]): u for u in run.json()}
    animl = usage[ANIML_ACCOUNT, "us-west-2"]
    assert (animl["concurrency"], animl["quota"], animl["headroom"]) == (940, 1000, 60)
    assert (animl["endpoints"], animl["endpoint_quota"]) == (20, 50)
    partner = usage["210987654321", "ca-central-1"]
    assert (partner["concurrency"], partner["quota"], partner["environments"]) == (
        280,
        500,
        ["partner-example"],
    )
    table = run_ops("quota")
    assert "940 / 1000" in table.stdout
    assert "94%" in table.stdout


def test_an_over_quota_registry_exits_non_zero(registry):
    environments = registry.environments()
    environments["environments"][1]["concurrency_quota"] = 100
    registry.write_environments(environments)
    run = run_ops("quota", "--registry", str(registry.root), "--environment", "partner-example")
    assert run.returncode == 1
    assert "280 / 100" in run.stdout
    assert (
        "over quota 210987654321/ca-central-1: max concurrency 280 of 100; lower max_concurrency "
        "in the registry by 180 or more" in run.stdout
    )


def test_midway_through_a_takeover_the_stacks_new_endpoint_is_not_unmanaged():
    """After `create` and before `flip` the parameters still name the hand-made endpoint, which
    is tagged with its replacement: neither is unmanaged, and nothing has drifted."""
    fleet = fixture_fleet()
    (planned,) = [u for u in planned_usage(fleet) if u.account == ANIML_ACCOUNT]
    endpoints = {e.name: e for e in planned_endpoints(fleet, fleet.environment("animl"))}
    deployed = {}
    parameters = {}
    for name, e in endpoints.items():
        deployed[name] = DeployedEndpoint(
            name, "InService", f"{name}-config", e.memory_mb, e.max_concurrency,
            e.provisioned_concurrency,
        )  # fmt: skip
        parameters |= dict.fromkeys(e.parameters, name)
    handmade = "mirav2-concurrency-80"
    deployed[handmade] = DeployedEndpoint(
        handmade, "InService", "c", 6144, 80, None, replaced_by="mirav2-batch"
    )
    parameters |= dict.fromkeys(endpoints["mirav2-batch"].parameters, handmade)
    inventory = Inventory(deployed, frozenset(), frozenset(), parameters)
    usage = live_usage(fleet, planned, inventory, 1000)
    assert usage.unmanaged == ()
    assert usage.takeover == ((handmade, "mirav2-batch"),)
    assert usage.drift == ()
    assert usage.concurrency == 1020


def deploy_the_registry_by_hand(emulator, account) -> dict[str, str]:
    """Every planned endpoint and parameter of the Animl environment, as a deploy leaves them."""
    fleet = fixture_fleet()
    ssm = emulator.client("ssm", account, "us-west-2")
    names = {}
    for endpoint in planned_endpoints(fleet, fleet.environment("animl")):
        name = deploy_by_hand(
            emulator,
            account,
            "us-west-2",
            endpoint.name,
            endpoint.memory_mb,
            endpoint.max_concurrency,
        )
        for parameter in endpoint.parameters:
            ssm.put_parameter(Name=parameter, Value=name, Type="String")
            names[parameter] = name
    return names


def test_live_reads_the_account_and_flags_unmanaged_endpoints_and_drift(emulator, animl_account):
    account = animl_account
    env = emulator.env(account, "us-west-2")
    deploy_the_registry_by_hand(emulator, account)

    clean = run_ops("quota", "--live", "--environment", "animl", "--json", env=env)
    assert clean.returncode == 0, clean.stderr
    (usage,) = clean.json()
    assert (usage["concurrency"], usage["endpoints"], usage["drift"], usage["unmanaged"]) == (
        940,
        20,
        [],
        [],
    )
    # The emulator has no Service Quotas value for SageMaker: the declared quota is used, and said.
    assert usage["quota"] == 1000
    assert usage["quota_source"] == "environments.yaml (Service Quotas unreadable)"

    # Someone adds an endpoint in the console and deletes a parameter; the registry changes a value.
    deploy_by_hand(emulator, account, "us-west-2", "mirav2-concurrency-80", 6144, 80)
    emulator.client("ssm", account, "us-west-2").delete_parameter(
        Name="/ml/nzdoc-batch-endpoint-dev"
    )
    run = run_ops("quota", "--live", "--environment", "animl", "--json", env=env)
    assert run.returncode == 1
    (usage,) = run.json()
    assert usage["concurrency"] == 1020
    assert usage["over_quota"] is True
    assert usage["unmanaged"] == ["mirav2-concurrency-80"]
    assert usage["drift"] == [
        {"parameter": "/ml/nzdoc-batch-endpoint-dev", "problem": "parameter missing"}
    ]
    table = run_ops("quota", "--live", "--environment", "animl", env=env)
    assert (
        f"unmanaged {ANIML_ACCOUNT}/us-west-2: endpoint mirav2-concurrency-80 is not in the registry"
        in table.stdout
    )
    assert (
        f"drift {ANIML_ACCOUNT}/us-west-2: /ml/nzdoc-batch-endpoint-dev: parameter missing"
        in table.stdout
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"max_concurrency": 60},
            "has 6144 MB, max concurrency 80 and provisioned None; the registry says 6144 MB, 60 "
            "and None",
        ),
        ({"provisioned_concurrency": 4}, "provisioned None; the registry says 6144 MB, 80 and 4"),
    ],
)
def test_live_reports_a_serverless_config_that_differs_from_the_registry(
    emulator, animl_account, registry, change, problem
):
    account = animl_account
    deploy_the_registry_by_hand(emulator, account)
    registry.edit_model("mirav2", lambda m: m["endpoints"]["batch"].update(change))
    run = run_ops(
        "quota", "--live", "-e", "animl", "--json", "--registry", str(registry.root),
        env=emulator.env(account, "us-west-2"),
    )  # fmt: skip
    assert run.returncode == 1
    (usage,) = run.json()
    assert {d["parameter"] for d in usage["drift"]} == {
        "/ml/mirav2-batch-endpoint-dev",
        "/ml/mirav2-batch-endpoint-prod",
    }
    assert problem in usage["drift"][0]["problem"]


def test_live_refuses_credentials_of_another_account(emulator):
    partner = emulator.assume_account("210987654321")
    run = run_ops("quota", "--live", "-e", "animl", env=emulator.env(partner, "us-west-2"))
    assert run.returncode == 2
    assert run.stderr == (
        "error: the credentials are for account 210987654321, but the environment is in account "
        f"{ANIML_ACCOUNT}: use a profile of that account\n"
    )


def test_no_credentials_is_one_line_that_says_what_to_do(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for command in (["quota", "--live"], ["quota", "plan"]):
        run = run_ops(*command, "-e", "animl", env=env)
        assert run.returncode == 2
        assert run.stderr.startswith("error: no AWS credentials: set AWS_PROFILE")
        assert run.stderr.count("\n") == 1


def test_a_throttled_call_says_to_wait_and_retry():
    throttled = botocore.exceptions.ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "ListEndpoints"
    )
    assert str(aws_failure(throttled)) == (
        "AWS throttled the call (ThrottlingException): wait a minute and run it again"
    )


def test_the_service_quotas_value_wins_and_an_unreadable_one_falls_back():
    # A stubbed client: botocore checks the request and response shapes, nothing is sent.
    client = boto3.client(
        "service-quotas",
        region_name="us-west-2",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",  # noqa: S106
    )
    request = {"ServiceCode": "sagemaker", "QuotaCode": "L-96300102"}
    with Stubber(client) as stub:
        stub.add_response("get_service_quota", {"Quota": {"Value": 1500.0}}, request)
        stub.add_client_error(
            "get_service_quota", "NoSuchResourceException", expected_params=request
        )
        assert read_quota(client) == 1500
        assert read_quota(client) is None
