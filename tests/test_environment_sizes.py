"""An environment's own endpoint sizes over the model file's, and what its callers can use."""

from __future__ import annotations

import json

import pytest

from animl_emulator.cdk_cli import cdk_synth
from model_registry.callers import caller_bound, oversized
from model_registry.loader import load_fleet
from tests.registries import RegistryCopy
from tests.test_registry import problems_of


def _sizes(registry: RegistryCopy, environment: int, sizes: dict) -> None:
    data = registry.environments()
    data["environments"][environment]["sizes"] = sizes
    registry.write_environments(data)


def _endpoint(fleet, environment: str, model: str, kind: str):
    (spec,) = [m for m in fleet.models_of(fleet.environment(environment)) if m.name == model]
    return dict(spec.endpoints.items())[kind]


def test_an_environments_size_reaches_only_that_environment(registry):
    _sizes(registry, 1, {"mirav2": {"batch": {"max_concurrency": 60, "memory_mb": 4096}}})
    fleet = load_fleet(registry.root)
    partner = _endpoint(fleet, "partner-example", "mirav2", "batch")
    assert (partner.memory_mb, partner.max_concurrency) == (4096, 60)
    animl = _endpoint(fleet, "animl", "mirav2", "batch")
    assert (animl.memory_mb, animl.max_concurrency) == (6144, 80)
    # The model file keeps the default, and what the override leaves out comes from it.
    assert dict(fleet.models["mirav2"].endpoints.items())["batch"].max_concurrency == 80
    assert partner.alarms == animl.alarms


def test_the_templates_follow_each_environments_own_size(registry, tmp_path):
    _sizes(registry, 1, {"mirav2": {"batch": {"max_concurrency": 60}}})
    result = cdk_synth(tmp_path, f"registry={registry.root}")
    assert result.returncode == 0, result.stderr

    def concurrency(stack: str) -> int:
        template = json.loads((tmp_path / f"{stack}.template.json").read_text())
        (config,) = [
            r for lid, r in template["Resources"].items()
            if r["Type"] == "AWS::SageMaker::EndpointConfig" and lid.startswith("mirav2batch")
        ]  # fmt: skip
        return config["Properties"]["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"]

    assert concurrency("partner-example-endpoints-00") == 60
    assert concurrency("animl-endpoints-01") == 80


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"nzdoc": {"batch": {"max_concurrency": 5}}},
         "environments.partner-example.sizes.nzdoc: environment partner-example does not run "
         "model 'nzdoc'"),
        ({"mirav22": {"batch": {"max_concurrency": 5}}},
         "sizes.mirav22: environment partner-example does not run model 'mirav22' (did you mean "
         "'mirav2'?)"),
        ({"deepfaune-ne": {"realtime": {"max_concurrency": 5}}},
         "sizes.deepfaune-ne.realtime: models/deepfaune-ne.yaml declares no realtime endpoint; "
         "it has: batch"),
        ({"mirav2": {"batch": {"max_concurrency": 500}}},
         "sizes.mirav2.batch.max_concurrency: 500 must be 1..200"),
        ({"mirav2": {"batch": {"memory_mb": 5000}}},
         "sizes.mirav2.batch.memory_mb: 5000 must be 1024..6144 in steps of 1024"),
        ({"mirav2": {"batch": {"max_concurrency": 4, "provisioned_concurrency": 5}}},
         "sizes.mirav2.batch: provisioned_concurrency: 5 must be 1..max_concurrency (4)"),
        ({"mirav2": {"batch": {"max_concurency": 5}}},
         "sizes.mirav2.batch.max_concurency: unknown key (did you mean 'max_concurrency'?)"),
        ({"mirav2": {"nightly": {"max_concurrency": 5}}}, "sizes.mirav2.nightly"),
    ],
)  # fmt: skip
def test_a_size_that_is_not_an_endpoint_names_file_and_field(registry, sizes, message):
    _sizes(registry, 1, sizes)
    problems = problems_of(registry.root)
    assert any(message in p for p in problems), problems


def test_callers_bound_what_an_endpoint_can_use_across_the_stages(registry):
    fleet = load_fleet(registry.root)
    animl = fleet.environment("animl")
    assert (caller_bound(animl, "realtime"), caller_bound(animl, "batch")) == (40, 160)
    assert caller_bound(fleet.environment("partner-example"), "batch") is None
    assert all(oversized(animl, m) == [] for m in fleet.models_of(animl))

    data = registry.environments()
    data["environments"][0]["callers"] = {"realtime": 5, "batch": 30}
    registry.write_environments(data)
    fleet = load_fleet(registry.root)
    animl = fleet.environment("animl")
    warnings = dict(oversized(animl, fleet.model("mirav2")))
    assert warnings["batch"] == (
        "mirav2 batch in environment animl: max_concurrency 80 is more than its callers can "
        "use, 30 calls in flight per stage (callers.batch) x 2 stages = 60"
    )
    assert warnings["realtime"].endswith(
        "5 calls in flight per stage (callers.realtime) x 2 stages = 10"
    )


def test_synthesis_warns_on_an_endpoint_its_callers_cannot_fill_and_still_succeeds(
    registry, tmp_path
):
    data = registry.environments()
    data["environments"][0]["callers"] = {"batch": 30}
    registry.write_environments(data)
    result = cdk_synth(tmp_path, f"registry={registry.root}")
    assert result.returncode == 0, result.stderr
    warned = [
        line for line in result.stderr.splitlines() if "more than its callers can use" in line
    ]
    assert len(warned) == 10  # the ten batch endpoints at 80 > 30 x 2
    assert not any("realtime" in line for line in warned)
