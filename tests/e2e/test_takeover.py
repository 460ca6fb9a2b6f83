"""Taking over the hand-made fleet with `migrate run`, watched by a sampler the whole time.

Invariants checked on every sample: each of the 40 parameters exists and names an endpoint in
service; the region's total max concurrency stays within the quota; no endpoint is deleted within
the drain time of the last moment a parameter named it. The run is interrupted midway and run
again; afterwards a plain `cdk deploy` and `cdk diff` find nothing to change.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from animl_emulator.cdk_cli import CdkCli
from animl_emulator.emulator import Account, Emulator
from checkout import REPO_ROOT
from model_registry.loader import load_fleet
from tests.e2e.handmade_fleet import seed, with_own_images
from tests.e2e.takeover_invariants import Sampler
from tests.registries import RegistryCopy

REGION, QUOTA = "us-west-2", 1000
DRAIN_SECONDS = 3.0


def _answer(model) -> str:
    """A valid answer of the model's family, naming a label of its record where one is known."""
    if model.family == "detector":
        return json.dumps(
            [{"x1": 0.1, "y1": 0.1, "x2": 0.5, "y2": 0.5, "confidence": 0.9, "class": 1}]
        )
    if model.family == "speciesnet":
        label = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
        return json.dumps(
            {"predictions": [{"classifications": {"classes": [label], "scores": [0.9]}}]}
        )
    return json.dumps({(model.class_ids or ["unverified"])[0]: 0.9})


def queue_answers(
    emulator: Emulator, account: Account, registry: RegistryCopy, created: list[str]
) -> None:
    """The emulator answers each new endpoint's first invocation from a queue, in order: the
    smoke tests run in the order the plan creates the endpoints."""
    fleet = load_fleet(registry.root)
    bodies = []
    for name in created:
        model_name = name.rsplit("-", 1)[0]
        bodies.append(
            {"Body": _answer(fleet.models[model_name]), "ContentType": "application/json"}
        )
    request = urllib.request.Request(  # noqa: S310 - the emulator on localhost
        f"{emulator.url}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(
            {"account_id": account.account_id, "region": REGION, "results": bodies}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def migrate(env: dict[str, str], registry: RegistryCopy, command: str, *extra: str):
    args = [sys.executable, "-m", "animl_ops", "migrate", command, "animl",
            "--drain-minutes", str(DRAIN_SECONDS / 60), "--registry", str(registry.root), *extra]  # fmt: skip
    return subprocess.Popen(
        args, cwd=REPO_ROOT, env=env | {"PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def done_steps(output: str) -> list[str]:
    return [line.split(": ", 1)[1] for line in output.splitlines() if " done: " in line]


@pytest.fixture
def handmade(emulator: Emulator, animl_account: Account, registry: RegistryCopy, tmp_path: Path):
    account = animl_account
    with_own_images(registry, account.account_id, REGION)
    cli = CdkCli(emulator, account, REGION, tmp_path)
    assembly = cli.synth(tmp_path / "cdk.out", registry.root)
    cli.bootstrap(assembly)
    made = seed(emulator, account, REGION, registry)
    return cli, assembly, made


def test_the_takeover_keeps_every_invariant_and_resumes_after_an_interruption(
    emulator, animl_account, registry, handmade
):
    cli, assembly, made = handmade
    env = emulator.env(animl_account, REGION)
    plan = migrate(env, registry, "plan")
    output, _ = plan.communicate(timeout=300)
    assert plan.returncode == 0, output
    assert "quota 1000; now 940 in use" in output
    created = [
        line.split("create ")[1].split(":")[0]
        for line in output.splitlines()
        if ". create " in line
    ]
    assert len(created) == 20
    assert "window:" in output  # the batch endpoints need their predecessors lowered first
    queue_answers(emulator, animl_account, registry, created)

    parameters = {p for e in made for p in (
        f"/ml/{e.model}-{e.kind}-endpoint-dev", f"/ml/{e.model}-{e.kind}-endpoint-prod")}  # fmt: skip
    assert len(parameters) == 40
    sampler = Sampler(emulator, animl_account, REGION, parameters, QUOTA, DRAIN_SECONDS)
    sampler.start()
    try:
        # Stopped by the run itself after step 25, not by a kill that lands wherever the
        # machine's load puts it.
        first = migrate(env, registry, "run", "--steps", "25")
        first_output, _ = first.communicate(timeout=600)
        assert first.returncode == 0, first_output[-3000:]
        assert first_output.splitlines()[-2].startswith("step 25 done: ")
        assert "stopped after 25 steps (--steps)" in first_output

        # Midway the account holds hand-made and managed endpoints side by side: quota --live
        # names the endpoints being replaced and reports no drift for them.
        quota = subprocess.run(
            [sys.executable, "-m", "animl_ops", "quota", "--live", "-e", "animl", "--json",
             "--registry", str(registry.root)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert quota.returncode == 0, quota.stdout + quota.stderr
        (usage,) = json.loads(quota.stdout)
        assert usage["drift"] == []
        assert usage["unmanaged"] == []
        assert usage["takeover"]
        assert usage["concurrency"] <= QUOTA
        # smoke follows the parameter: alitav3's now names the stack's endpoint.
        smoke = subprocess.run(
            [sys.executable, "-m", "animl_ops", "smoke", "animl", "alitav3", "--json",
             "--registry", str(registry.root)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert json.loads(smoke.stdout)["target"] == "alitav3-batch"

        second = migrate(env, registry, "run")
        second_output, _ = second.communicate(timeout=900)
        assert second.returncode == 0, second_output[-3000:]
    finally:
        sampler.stop()
    assert sampler.violations == [], sampler.violations[:10]
    assert sampler.samples > 50
    assert max(sampler.seen_totals) <= QUOTA

    # Nothing done twice: what the first run finished, the second does not repeat.
    assert not set(done_steps(first_output)) & set(done_steps(second_output))
    assert "complete: the stacks hold every endpoint and parameter" in second_output

    # No hand-made endpoint, config or model is left, and the stacks own the parameters.
    sagemaker = emulator.client("sagemaker", animl_account, REGION)
    endpoints = {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
    assert not endpoints & {e.name for e in made}
    assert len(endpoints) == 20
    configs = {
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    }
    assert not any("-concurrency-" in c or c.startswith("speciesnet-v4") for c in configs)
    models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
    assert not any(m.endswith("-model") and "-concurrency-" in m for m in models)

    # A later deploy and diff find nothing to change; a destroy would remove the parameters.
    deploy = cli.deploy(assembly, "animl-endpoints-*")
    assert "(no changes)" in deploy.stdout + deploy.stderr
    diff = cli.diff(assembly, "animl-endpoints-*")
    assert "Number of stacks with differences: 0" in diff or "There were no differences" in diff


def test_the_plan_refuses_what_it_cannot_take_over_before_changing_anything(
    emulator, animl_account, registry, handmade
):
    account = animl_account
    sagemaker = emulator.client("sagemaker", account, REGION)
    ssm = emulator.client("ssm", account, REGION)
    ssm.delete_parameter(Name="/ml/alitav3-batch-endpoint-dev")
    ssm.put_parameter(
        Name="/ml/ircv2-batch-endpoint-prod", Value="ircv2-gone", Type="String", Overwrite=True
    )
    sagemaker.create_endpoint(
        EndpointName="experiment", EndpointConfigName="mirav2-concurrency-20-config"
    )
    before = {
        p["Name"]: p["Value"]
        for p in ssm.get_parameters_by_path(Path="/ml/", Recursive=True)["Parameters"]
    }

    run = migrate(emulator.env(account, REGION), registry, "run")
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 2
    assert "the take-over cannot start:" in output
    assert (
        "alitav3-batch has no hand-made counterpart: /ml/alitav3-batch-endpoint-dev do not exist"
        in output
    )
    assert "a parameter of ircv2-batch names ircv2-gone, which does not exist" in output
    assert "hand-made endpoints the registry does not know: experiment" in output
    after = {
        p["Name"]: p["Value"]
        for p in ssm.get_parameters_by_path(Path="/ml/", Recursive=True)["Parameters"]
    }
    assert after == before
    tagged = sagemaker.list_tags(
        ResourceArn=sagemaker.describe_endpoint(EndpointName="mirav2-concurrency-80")["EndpointArn"]
    )
    assert not tagged.get("Tags")

    partner = emulator.assume_account("210987654321")
    other = migrate(emulator.env(partner, REGION), registry, "plan")
    output, _ = other.communicate(timeout=300)
    assert other.returncode == 2
    assert "the credentials are for account 210987654321" in output
