"""Taking over a hand-made fleet: its state, and the next safe step. Pure functions, no AWS.

Each endpoint of the registry moves through: adopt (tag the hand-made endpoint it replaces),
lower (only when the quota leaves no room: a smaller config for the old endpoint), create (the
stack's endpoint, without its parameters), flip (after a smoke test, the parameters name the new
endpoint), import (the stack takes the parameters over), delete (the old endpoint, once no
parameter has named it for the drain time, then the configs and models it was tagged with). The
state is read from the account each time, so a run that stops anywhere continues where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from model_registry.schema import EndpointKind


@dataclass(frozen=True)
class Target:
    """One endpoint the registry wants, and where the stacks keep it."""

    name: str  # the stable endpoint name, <model>-<kind>
    model: str
    kind: EndpointKind
    stack: str
    max_concurrency: int
    parameters: tuple[str, ...]
    endpoint_logical_id: str
    parameter_logical_ids: tuple[str, ...]
    config_logical_id: str = ""


@dataclass(frozen=True)
class Progress:
    """Where one target stands in the account."""

    target: Target
    old: str | None  # the hand-made endpoint it replaces, until deleted
    old_concurrency: int | None
    adopted: bool
    managed: str | None  # the stack's endpoint (its physical name), once created
    flipped: bool  # every parameter names the managed endpoint
    flipped_at: datetime | None  # when the last parameter was flipped
    imported: bool
    # The hand-made configs and models tagged for this target that no endpoint uses any more.
    leftovers: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetState:
    progress: tuple[Progress, ...]
    others: int  # concurrency of serverless endpoints the take-over leaves alone
    quota: int

    @property
    def total(self) -> int:
        return self.others + sum(
            (p.old_concurrency or 0) + (p.target.max_concurrency if p.managed else 0)
            for p in self.progress
        )


@dataclass(frozen=True)
class Step:
    action: str  # adopt | lower | create | flip | import | delete
    target: Target
    detail: str
    lower_to: int | None = None

    def describe(self) -> str:
        return f"{self.action:<6} {self.target.name}: {self.detail}"


@dataclass(frozen=True)
class Wait:
    until: datetime
    reason: str


class NoSafeOrder(ValueError):  # noqa: N818 - reads as the condition it reports
    """The quota leaves no order in which every step keeps the invariants."""


def _draining(state: FleetState) -> list[Progress]:
    return [p for p in state.progress if p.flipped and p.old is not None]


def next_step(state: FleetState, now: datetime, drain: timedelta) -> Step | Wait | None:
    """The next step that keeps every invariant, a wait for a drain, or None when done."""
    progress = sorted(state.progress, key=lambda p: (p.target.max_concurrency, p.target.name))
    for p in progress:
        if p.old is not None and not p.adopted:
            return Step("adopt", p.target, f"tag {p.old} as the endpoint it replaces")
    for p in progress:
        if p.old is None and p.leftovers:
            return Step("delete", p.target, f"delete what is left of it: {', '.join(p.leftovers)}")
    draining = _draining(state)
    for p in draining:
        assert p.flipped_at is not None
        if now - p.flipped_at >= drain:
            return Step(
                "delete", p.target, f"delete {p.old}, drained since {p.flipped_at:%H:%M:%S}"
            )
    for p in progress:
        if p.flipped and not p.imported:
            return Step("import", p.target, "the stack takes its parameters over")
    for p in progress:
        if p.managed and not p.flipped:
            names = ", ".join(p.target.parameters)
            return Step("flip", p.target, f"smoke-test {p.managed}, then point {names} at it")
    waiting = [p for p in progress if not p.managed]
    if waiting:
        p = waiting[0]
        free = state.quota - state.total
        need = p.target.max_concurrency
        if free >= need:
            return Step(
                "create", p.target, f"deploy {p.target.stack} with {p.target.name} ({need})"
            )
        if draining:
            until = min(d.flipped_at for d in draining if d.flipped_at) + drain
            return Wait(until, f"{need - free} more concurrency is needed for {p.target.name}")
        deficit = need - free
        if p.old is None or p.old_concurrency is None or p.old_concurrency - deficit < 1:
            raise NoSafeOrder(
                f"{p.target.name} needs {need} concurrency and only {free} is free of the quota "
                f"{state.quota}; lowering its predecessor cannot make room"
            )
        lower_to = p.old_concurrency - deficit
        return Step(
            "lower",
            p.target,
            f"lower {p.old} from {p.old_concurrency} to {lower_to} to make room "
            f"(capacity window until the flip)",
            lower_to=lower_to,
        )
    if draining:
        until = min(d.flipped_at for d in draining if d.flipped_at) + drain
        return Wait(until, "the last old endpoints drain")
    return None


def apply(state: FleetState, step: Step, now: datetime) -> FleetState:
    """The state after `step`, as planning assumes it (for the plan's output)."""

    def change(p: Progress) -> Progress:
        if p.target != step.target:
            return p
        if step.action == "adopt":
            return replace(p, adopted=True)
        if step.action == "lower":
            return replace(p, old_concurrency=step.lower_to)
        if step.action == "create":
            return replace(p, managed=p.target.name)
        if step.action == "flip":
            return replace(p, flipped=True, flipped_at=now)
        if step.action == "import":
            return replace(p, imported=True)
        return replace(p, old=None, old_concurrency=None, leftovers=())

    return replace(state, progress=tuple(change(p) for p in state.progress))


def simulate(state: FleetState, now: datetime, drain: timedelta) -> list[tuple[Step | Wait, int]]:
    """Every remaining step with the region's total concurrency after it."""
    plan: list[tuple[Step | Wait, int]] = []
    while (step := next_step(state, now, drain)) is not None:
        if isinstance(step, Wait):
            now = step.until
        else:
            state = apply(state, step, now)
        plan.append((step, state.total))
    return plan
