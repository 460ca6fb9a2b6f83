"""Stack sharding: 200 endpoints fit under CloudFormation's 500 resources per stack, and models
keep their stack and logical IDs when others are added or removed."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest

from checkout import CONTAINERS_DIR
from model_registry.loader import load_fleet
from model_registry.synthetic import synthetic_model_names, write_synthetic_registry
from stacks.fleet import add_fleet

CFN_RESOURCES_PER_STACK = 500


def synthesize(root: Path) -> dict[str, dict]:
    app = cdk.App(outdir=str(root / "cdk.out"))
    add_fleet(app, load_fleet(root, CONTAINERS_DIR), CONTAINERS_DIR)
    return {s.stack_name: s.template for s in app.synth().stacks}


def resource_homes(stacks: dict[str, dict]) -> dict[str, tuple[str, str]]:
    """Every resource of every endpoint: logical ID -> (stack, type)."""
    return {
        logical_id: (stack, resource["Type"])
        for stack, template in stacks.items()
        for logical_id, resource in template.get("Resources", {}).items()
    }


def test_200_endpoints_fit_in_sharded_stacks(tmp_path):
    names = synthetic_model_names(100)
    stacks = synthesize(write_synthetic_registry(tmp_path, names, stack_shards=8))
    counts = {name: len(t.get("Resources", {})) for name, t in stacks.items()}
    endpoints = sum(
        1
        for t in stacks.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Endpoint"
    )
    assert endpoints == 200
    assert sorted(counts) == sorted(
        [f"scale-{kind}-{shard:02d}" for kind in ("endpoints", "alarms") for shard in range(8)]
        + ["scale-monitoring"]
    )
    assert max(counts.values()) < CFN_RESOURCES_PER_STACK * 0.8, counts


def test_the_same_200_endpoints_in_one_stack_exceed_the_limit(tmp_path):
    root = write_synthetic_registry(tmp_path, synthetic_model_names(100), stack_shards=1)
    with pytest.raises(RuntimeError, match="greater than allowed maximum of 500"):
        synthesize(root)


def test_adding_and_removing_models_moves_no_other_resource(tmp_path):
    before_names = synthetic_model_names(24)
    after_names = [n for n in before_names if n not in ("model-003", "model-017")] + [
        "added-000",
        "added-001",
    ]
    before = resource_homes(
        synthesize(write_synthetic_registry(tmp_path / "before", before_names, stack_shards=4))
    )
    after = resource_homes(
        synthesize(write_synthetic_registry(tmp_path / "after", after_names, stack_shards=4))
    )

    def owned_by(homes: dict, prefix: str) -> set[str]:
        return {lid for lid in homes if lid.startswith(prefix.replace("-", ""))}

    kept = set(before_names) & set(after_names)
    for name in kept:
        ids = owned_by(before, name)
        assert len(ids) == 12  # 2 endpoints x (role, model, config, endpoint, 2 parameters)
        assert {lid: before[lid] for lid in ids} == {lid: after[lid] for lid in ids}
        alarms = owned_by(before, f"Alarms{name}")
        assert len(alarms) == 8  # 2 endpoints x 4 alarms
        assert {lid: before[lid] for lid in alarms} == {lid: after[lid] for lid in alarms}
    removed = owned_by(before, "model-003") | owned_by(before, "model-017")
    assert len(removed) == 24  # 2 models x 2 endpoints x 6 resources
    assert not removed & set(after)
    assert len(owned_by(after, "added-")) == 24
