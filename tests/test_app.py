"""The real app through the real CDK CLI: nag on, quota guard on, no credentials."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from animl_emulator.cdk_cli import cdk_synth
from checkout import REPO_ROOT
from tests.production_pins import PIN_FILE, endpoint_logical_ids
from tests.registries import FIXTURE_REGISTRY

ANIML_ENDPOINTS = {
    "megadetector-v5a": ("batch", "realtime"),
    "megadetector-v5b": ("batch", "realtime"),
    "megadetector-v1000-0-0-redwood": ("batch", "realtime"),
    "mirav2": ("batch", "realtime"),
    "nzdoc": ("batch",),
    "sdzwa-southwestv3": ("batch", "realtime"),
    "sdzwa-andesv1": ("batch",),
    "deepfaune-ne": ("batch",),
    "speciesnetv401a": ("batch", "realtime"),
    "ircv2": ("batch",),
    "camera-trap-vehicle-classifier": ("batch",),
    "alitav3": ("batch",),
    "nzi-adsv1": ("batch", "realtime"),
}


def templates(outdir: Path) -> dict[str, dict]:
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }


def resources_of_type(stacks: dict[str, dict], prefix: str, resource_type: str) -> dict[str, dict]:
    return {
        logical_id: resource
        for name, template in stacks.items()
        if name.startswith(prefix)
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == resource_type
    }


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    result = cdk_synth(outdir, f"registry={FIXTURE_REGISTRY}")
    return result, templates(outdir)


def test_the_real_app_synthesizes_with_nag_and_the_quota_guard(synthesized):
    result, stacks = synthesized
    assert result.returncode == 0, result.stderr
    assert sorted(stacks) == [
        "animl-alarms-00",
        "animl-alarms-01",
        "animl-alarms-02",
        "animl-alarms-03",
        "animl-endpoints-00",
        "animl-endpoints-01",
        "animl-endpoints-02",
        "animl-endpoints-03",
        "animl-monitoring",
        "partner-example-alarms-00",
        "partner-example-endpoints-00",
        "partner-example-monitoring",
    ]
    assert "ValidationFailed" not in result.stderr
    # 940 of 1000 is above the 90% warning level: the guard says so without failing synthesis.
    (warning,) = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert "serverless max concurrency 940 of the quota of 1000 (94%" in warning
    assert "program.js" not in result.stderr  # no stack frame of jsii's bundle above it


def test_the_40_animl_ssm_parameters_name_their_endpoints(synthesized):
    _, stacks = synthesized
    parameters = resources_of_type(stacks, "animl-", "AWS::SSM::Parameter")
    endpoints = resources_of_type(stacks, "animl-", "AWS::SageMaker::Endpoint")
    expected = {
        f"/ml/{model}-{kind}-endpoint-{stage}": f"{model}-{kind}"
        for model, kinds in ANIML_ENDPOINTS.items()
        for kind in kinds
        for stage in ("dev", "prod")
    }
    assert len(expected) == 40
    named = {
        p["Properties"]["Name"]: endpoints[p["Properties"]["Value"]["Fn::GetAtt"][0]]["Properties"][
            "EndpointName"
        ]
        for p in parameters.values()
    }
    assert named == expected


def test_endpoint_configs_match_the_registry_concurrency(synthesized):
    _, stacks = synthesized
    configs = resources_of_type(stacks, "animl-", "AWS::SageMaker::EndpointConfig")
    serverless = [
        c["Properties"]["ProductionVariants"][0]["ServerlessConfig"] for c in configs.values()
    ]
    assert len(serverless) == 20
    assert sum(s["MaxConcurrency"] for s in serverless) == 940
    assert {s["MemorySizeInMB"] for s in serverless} == {6144}


def test_partner_environment_has_only_its_models_and_prod_parameters(synthesized):
    _, stacks = synthesized
    (partner,) = [t for name, t in stacks.items() if name.startswith("partner-example-endpoints")]
    names = sorted(
        r["Properties"]["Name"]
        for r in partner["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    )
    assert names == [
        "/ml/deepfaune-ne-batch-endpoint-prod",
        "/ml/megadetector-v5a-batch-endpoint-prod",
        "/ml/megadetector-v5a-realtime-endpoint-prod",
        "/ml/mirav2-batch-endpoint-prod",
        "/ml/mirav2-realtime-endpoint-prod",
    ]
    urls = [
        r["Properties"]["PrimaryContainer"]["ModelDataUrl"]
        for r in partner["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Model"
    ]
    assert len(urls) == 5
    assert all(u.startswith("s3://animl-model-zoo-ca-central-1/") for u in urls)


def test_each_shard_watches_exactly_the_endpoints_of_its_endpoints_stack(synthesized):
    _, stacks = synthesized
    for name in stacks:
        if "-endpoints-" not in name:
            continue
        endpoints = {
            r["Properties"]["EndpointName"]
            for r in resources_of_type(stacks, name, "AWS::SageMaker::Endpoint").values()
        }
        alarms_stack = name.replace("-endpoints-", "-alarms-")
        alarms = resources_of_type(stacks, alarms_stack, "AWS::CloudWatch::Alarm")
        watched = sorted(
            next(d["Value"] for d in a["Properties"]["Dimensions"] if d["Name"] == "EndpointName")
            for a in alarms.values()
        )
        assert watched == sorted(list(endpoints) * 4), alarms_stack


def test_production_endpoint_logical_ids_are_pinned():
    """A renamed logical ID replaces a live endpoint: the pin changes only with intent."""
    pinned = json.loads(PIN_FILE.read_text())
    assert endpoint_logical_ids() == pinned, (
        f"the production endpoints' logical ids differ from {PIN_FILE.name}; if the change is "
        "intended (a model added or removed), run `make logical-ids` and review the diff"
    )


def test_one_more_80_concurrency_endpoint_fails_synthesis_and_leaves_no_assembly(
    registry, tmp_path
):
    extra = registry.model("nzdoc") | {"name": "nzdoc-extra"}
    registry.write_model("nzdoc-extra", extra)
    outdir = tmp_path / "cdk.out"
    # A stale template from an earlier synthesis, and a file of the engineer's own.
    outdir.mkdir()
    (outdir / "animl-endpoints-00.template.json").write_text("{}")
    (outdir / "notes.txt").write_text("mine")
    result = cdk_synth(outdir, f"registry={registry.root}")
    assert result.returncode != 0
    assert "is 1020 of a quota of 1000 (L-96300102)" in result.stderr
    assert "Shares, largest first: " in result.stderr
    assert not (outdir / "manifest.json").exists()
    assert not list(outdir.glob("*.template.json"))
    assert (outdir / "notes.txt").read_text() == "mine"


def test_a_bad_registry_fails_with_one_line_per_problem_and_no_traceback(registry, tmp_path):
    registry.edit_model("mirav2", lambda d: d["endpoints"]["batch"].update(memory_mb=5000))
    result = cdk_synth(tmp_path / "cdk.out", f"registry={registry.root}")
    assert result.returncode != 0
    assert (
        f"{registry.models / 'mirav2.yaml'}: endpoints.batch.memory_mb: 5000 must be 1024..6144 in steps of 1024"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cdk.out" / "manifest.json").exists()


def _make(registry, out: Path, target: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = ["make", "-s", f"OUT={out}", f"REGISTRY={registry.root}", target]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)


def test_make_diff_shows_every_stack_a_registry_change_touches_alarms_included(registry, tmp_path):
    before = _make(registry, tmp_path / "out", "synth")
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip().endswith(f"synthesized 12 stacks to {tmp_path / 'out'}")
    registry.edit_model(
        "mirav2",
        lambda m: m["endpoints"]["batch"].update(
            max_concurrency=60, alarms={"model_latency_seconds": 30}
        ),
    )
    diff = _make(registry, tmp_path / "out", "diff")
    assert diff.returncode == 0, diff.stderr
    output = diff.stdout + diff.stderr
    assert '[-]   "MaxConcurrency": 80,' in output
    assert '[+]   "MaxConcurrency": 60,' in output
    assert "mirav2-batch/Config" in output
    assert "Stack animl-alarms-" in output  # the alarm stack of mirav2's shard
    assert "Alarms/mirav2-batch-model-latency" in output
    assert "[-] 45000000" in output
    assert "[+] 30000000" in output
    assert "Can only select one stack" not in output
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith(
            f"compared 12 stacks with {tmp_path / 'out'}: 4 changed (animl-alarms-01 "
            "animl-endpoints-01 partner-example-alarms-00 partner-example-endpoints-00), 0 new, "
            "0 removed, 8 unchanged"
        )
    )


def test_a_failed_make_synth_leaves_the_last_good_assembly_as_it_was(registry, tmp_path):
    out = tmp_path / "out"
    assert _make(registry, out, "synth").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    registry.edit_model("mirav2", lambda d: d["endpoints"]["batch"].update(memory_mb=5000))
    failed = _make(registry, out, "synth")
    assert failed.returncode != 0
    assert f"synthesis failed; {out} is as it was before" in failed.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not (tmp_path / "out.synth").exists()
    # make diff against it says why the new synthesis failed, and leaves it as it was too.
    diff = _make(registry, out, "diff")
    assert diff.returncode != 0
    assert "endpoints.batch.memory_mb: 5000 must be 1024..6144 in steps of 1024" in diff.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
