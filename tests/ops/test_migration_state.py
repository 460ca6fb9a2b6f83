"""Where a take-over stands, decided from a hand-built account (no AWS): the refusals before any
change when someone changed the account by hand, and the clean-up of what a stopped delete left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from animl_ops.inventory import DeployedEndpoint, Inventory
from animl_ops.migration_plan import Step, Target, next_step
from animl_ops.migration_state import Live, MigrationError, fleet_state

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-west-2:123456789012:endpoint/{}"


def target(name: str) -> Target:
    return Target(name, name.rsplit("-", 1)[0], "batch", "s", 80, (f"/ml/{name}-endpoint-prod",),
                  f"{name}Endpoint", (f"{name}Parameter",), f"{name}Config")  # fmt: skip


def endpoint(name: str, config: str, replaced_by: str | None = None) -> DeployedEndpoint:
    return DeployedEndpoint(
        name, "InService", config, 6144, 80, None, replaced_by, ARN.format(name)
    )


def live(endpoints: list[DeployedEndpoint], parameters: dict[str, str], stack: dict[str, str],
         leftovers: dict[str, tuple[str, ...]] | None = None) -> Live:  # fmt: skip
    inventory = Inventory(
        {e.name: e for e in endpoints}, frozenset(), frozenset(), parameters,
        {p: NOW - timedelta(hours=2) for p in parameters},
    )  # fmt: skip
    return Live(inventory, {"s": stack}, leftovers or {})


def test_a_parameter_pointed_at_another_targets_endpoint_is_refused():
    a, b = target("a-batch"), target("b-batch")
    state = live(
        [endpoint("a-batch", "a-cfg"), endpoint("b-batch", "b-cfg"), endpoint("b-old", "b-old")],
        {"/ml/a-batch-endpoint-prod": "a-batch", "/ml/b-batch-endpoint-prod": "a-batch"},
        {"a-batchEndpoint": ARN.format("a-batch"), "b-batchEndpoint": ARN.format("b-batch"),
         "a-batchConfig": "arn:x:endpoint-config/a-cfg", "b-batchConfig": "arn:x:endpoint-config/b-cfg"},
    )  # fmt: skip
    with pytest.raises(MigrationError) as refused:
        fleet_state(state, [a, b], 1000, leave={"b-old"})
    assert (
        "a parameter of b-batch names a-batch, the endpoint of a-batch: someone edited it by hand"
        in str(refused.value)
    )


def test_a_stack_endpoint_moved_to_another_config_by_hand_is_refused():
    a = target("a-batch")
    state = live(
        [endpoint("a-batch", "hand-picked"), endpoint("a-old", "a-old", replaced_by="a-batch")],
        {"/ml/a-batch-endpoint-prod": "a-old"},
        {"a-batchEndpoint": ARN.format("a-batch"), "a-batchConfig": "arn:x:endpoint-config/A-CFG"},
    )  # fmt: skip
    with pytest.raises(MigrationError, match="a-batch runs config hand-picked, not its stack's "
                       "A-CFG: someone changed it by hand"):  # fmt: skip
        fleet_state(state, [a], 1000, leave=set())


def test_a_stack_endpoint_deleted_out_of_band_is_refused():
    a = target("a-batch")
    state = live(
        [endpoint("a-old", "a-old", replaced_by="a-batch")],
        {"/ml/a-batch-endpoint-prod": "a-old"},
        {"a-batchEndpoint": ARN.format("a-batch"), "a-batchConfig": "arn:x:endpoint-config/a-cfg"},
    )  # fmt: skip
    with pytest.raises(MigrationError, match=r"s holds endpoint .*a-batch, which the account does "
                       "not: it was deleted out of band"):  # fmt: skip
        fleet_state(state, [a], 1000, leave=set())


def test_what_a_stopped_delete_left_is_deleted_before_anything_else():
    a = target("a-batch")
    state = live(
        [endpoint("a-batch", "a-cfg")],
        {"/ml/a-batch-endpoint-prod": "a-batch"},
        {"a-batchEndpoint": ARN.format("a-batch"), "a-batchConfig": "arn:x:endpoint-config/a-cfg",
         "a-batchParameter": "/ml/a-batch-endpoint-prod"},
        leftovers={"a-batch": ("a-old-config", "a-old-model")},
    )  # fmt: skip
    fleet = fleet_state(state, [a], 1000, leave=set())
    step = next_step(fleet, NOW, timedelta(minutes=60))
    assert isinstance(step, Step)
    assert (step.action, step.detail) == (
        "delete",
        "delete what is left of it: a-old-config, a-old-model",
    )
    done = fleet_state(live(*[[endpoint("a-batch", "a-cfg")], state.inventory.parameters, state.stacks["s"]]),
                       [a], 1000, leave=set())  # fmt: skip
    assert next_step(done, NOW, timedelta(minutes=60)) is None
