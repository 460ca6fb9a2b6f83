"""`smoke`: resolve the endpoint through SSM, invoke it with a sample, check the response format."""

from __future__ import annotations

import json
import urllib.request

from animl_ops.local_runtime import invoke, serving_archive
from animl_ops.mlmodel import sample_call
from tests.ops.conftest import deploy_by_hand, run_ops
from tests.registries import fixture_fleet


def test_a_local_classifier_container_answers_in_the_api_format(mirav2_artifact):
    with serving_archive(mirav2_artifact) as url:
        run = run_ops("smoke", "animl", "mirav2", "--url", url, "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["ok"] is True
    assert result["labels"] == ["bird", "fox", "lizard", "rodent", "skunk"]
    assert result["latency_ms"] > 0


def test_a_local_detector_container_answers_in_the_api_format(detector_artifact):
    with serving_archive(detector_artifact) as url:
        run = run_ops("smoke", "animl", "megadetector-v5a", "--endpoint", "realtime", "--url", url)
    assert run.returncode == 0, run.stderr
    assert "labels ['1', '2', '3'], OK" in run.stdout


def queue_responses(emulator, account, *bodies: bytes) -> None:
    """The emulator answers the next InvokeEndpoint calls with these bodies."""
    results = {
        "account_id": account.account_id,
        "region": "us-west-2",
        "results": [{"Body": body.decode(), "ContentType": "application/json"} for body in bodies],
    }
    request = urllib.request.Request(  # noqa: S310 - the emulator on localhost
        f"{emulator.url}/moto-api/static/sagemaker/endpoint-results",
        data=json.dumps(results).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def deploy_mirav2_by_hand(emulator, account) -> dict[str, str]:
    ssm = emulator.client("ssm", account, "us-west-2")
    for kind in ("batch", "realtime"):
        name = deploy_by_hand(emulator, account, "us-west-2", f"mirav2-{kind}", 6144, 20)
        ssm.put_parameter(Name=f"/ml/mirav2-{kind}-endpoint-prod", Value=name, Type="String")
    return emulator.env(account, "us-west-2")


def test_the_deployed_endpoint_is_found_through_ssm_and_its_response_checked(
    emulator, animl_account, mirav2_artifact
):
    env = deploy_mirav2_by_hand(emulator, animl_account)
    # The emulator answers with what the real container answers to the same sample.
    mirav2 = fixture_fleet().models["mirav2"]
    call = sample_call(mirav2, mirav2.records[0], is_batch=True)
    with serving_archive(mirav2_artifact) as url:
        _, served = invoke(url, call.body, call.content_type)
    queue_responses(emulator, animl_account, served)

    run = run_ops("smoke", "animl", "mirav2", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) | {"latency_ms": 0} == {
        "target": "mirav2-batch",
        "status": "InService",
        "latency_ms": 0,
        "labels": ["bird", "fox", "lizard", "rodent", "skunk"],
        "problem": None,
        "note": None,
        "ok": True,
        "precision": "fp32",
    }


def test_a_response_the_api_cannot_read_fails_the_smoke_test(emulator, animl_account):
    # A new emulator: moto 5.2 keeps the answer an endpoint gave to a body and gives it again.
    env = deploy_mirav2_by_hand(emulator, animl_account)
    queue_responses(emulator, animl_account, b'{"bird": 2.5}')
    run = run_ops("smoke", "animl", "mirav2", "--endpoint", "realtime", env=env)
    assert run.returncode == 1
    assert "mirav2-realtime (fp32): InService" in run.stdout
    assert "FAILED bad response: the confidence of 'bird' is 2.5, outside 0.0..1.0" in run.stdout


def test_a_missing_parameter_says_to_deploy_first(emulator, animl_account):
    run = run_ops(
        "smoke",
        "animl",
        "mirav2",
        "--stage",
        "dev",
        env=emulator.env(animl_account, "us-west-2"),
    )
    assert run.returncode == 2
    assert run.stderr == (
        "error: SSM parameter /ml/mirav2-batch-endpoint-dev does not exist in this account and "
        "region: deploy the environment first, or check --stage and the credentials' account\n"
    )


def test_unknown_names_are_one_line_errors():
    cases = {
        ("smoke", "staging", "mirav2"): "error: unknown environment 'staging'; the registry declares: animl, partner-example",
        ("smoke", "partner-example", "nzdoc"): "error: environment partner-example does not deploy model nzdoc",
        ("smoke", "animl", "nzdoc", "--endpoint", "realtime"): "error: model nzdoc declares no realtime endpoint; it has: batch",
    }  # fmt: skip
    for args, message in cases.items():
        run = run_ops(*args)
        assert (run.returncode, run.stderr) == (2, message + "\n")


def test_a_parameter_naming_a_deleted_endpoint_says_to_redeploy(emulator, animl_account):
    account = animl_account
    emulator.client("ssm", account, "us-west-2").put_parameter(
        Name="/ml/mirav2-batch-endpoint-prod", Value="mirav2-batch", Type="String"
    )
    run = run_ops("smoke", "animl", "mirav2", env=emulator.env(account, "us-west-2"))
    assert (run.returncode, run.stderr) == (
        2,
        "error: /ml/mirav2-batch-endpoint-prod names endpoint mirav2-batch, which does not exist: "
        "redeploy the stack\n",
    )
