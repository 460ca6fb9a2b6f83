"""The take-over's decisions on hand-built states: the order, the quota, the drain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from animl_ops.migration_plan import (
    FleetState,
    NoSafeOrder,
    Progress,
    Step,
    Target,
    Wait,
    next_step,
    simulate,
)
from model_registry.schema import EndpointKind

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DRAIN = timedelta(minutes=60)


def target(name: str, concurrency: int) -> Target:
    model, kind = name.rsplit("-", 1)
    return Target(name, model, cast(EndpointKind, kind), "stack", concurrency,
                  (f"/ml/{name}-endpoint-prod",), f"{name}Endpoint", (f"{name}Parameter",))  # fmt: skip


def handmade(name: str, concurrency: int, **changes) -> Progress:
    fields: dict[str, Any] = {"target": target(name, concurrency), "old": f"{name}-concurrency-{concurrency}",
              "old_concurrency": concurrency, "adopted": True, "managed": None, "flipped": False,
              "flipped_at": None, "imported": False} | changes  # fmt: skip
    return Progress(**fields)


def test_small_endpoints_first_and_a_lowered_predecessor_when_the_quota_is_tight():
    state = FleetState((handmade("a-batch", 80), handmade("a-realtime", 20)), others=40, quota=160)
    steps = [s for s, _ in simulate(state, NOW, DRAIN)]
    actions = [(s.action, s.target.name) for s in steps if isinstance(s, Step)]
    assert actions[:4] == [
        ("create", "a-realtime"),
        ("flip", "a-realtime"),
        ("import", "a-realtime"),
        ("delete", "a-realtime"),
    ]
    # 140 in use, 20 free: the batch predecessor goes from 80 to 20 to make room for 80.
    lower = next(s for s in steps if isinstance(s, Step) and s.action == "lower")
    assert (lower.target.name, lower.lower_to) == ("a-batch", 20)


def test_every_total_stays_within_the_quota():
    state = FleetState(
        tuple(handmade(f"m{i}-batch", 80) for i in range(10)), others=140, quota=1000
    )
    plan = simulate(state, NOW, DRAIN)
    assert all(total <= 1000 for _, total in plan)
    assert plan[-1][1] == 940


def test_an_old_endpoint_waits_for_its_drain():
    flipped = handmade("a-batch", 80, managed="a-batch", flipped=True, flipped_at=NOW,
                       imported=True)  # fmt: skip
    state = FleetState((flipped,), others=0, quota=1000)
    assert next_step(state, NOW + DRAIN - timedelta(seconds=1), DRAIN) == Wait(
        NOW + DRAIN, "the last old endpoints drain"
    )
    step = next_step(state, NOW + DRAIN, DRAIN)
    assert isinstance(step, Step)
    assert step.action == "delete"


def test_a_quota_too_small_for_any_order_is_refused():
    state = FleetState((handmade("a-batch", 80),), others=0, quota=80)
    with pytest.raises(NoSafeOrder, match="a-batch needs 80 concurrency and only 0 is free"):
        simulate(state, NOW, DRAIN)


def test_an_unadopted_endpoint_is_tagged_before_anything_changes():
    state = FleetState((handmade("a-batch", 80, adopted=False),), others=0, quota=1000)
    step = next_step(state, NOW, DRAIN)
    assert isinstance(step, Step)
    assert step.action == "adopt"
