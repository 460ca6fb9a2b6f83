"""Where each endpoint of a take-over stands, from what the account holds, and the refusals
before any change. Pure: the account is read by migration_live."""

from __future__ import annotations

from dataclasses import dataclass

from animl_ops.inventory import Inventory
from animl_ops.migration_plan import FleetState, Progress, Target


class MigrationError(RuntimeError):
    """The account or registry cannot be taken over as they are; the message says why."""


@dataclass(frozen=True)
class Live:
    inventory: Inventory
    stacks: dict[str, dict[str, str]]  # stack -> logical id -> physical id
    # target -> the hand-made configs and models tagged for it that no endpoint uses
    leftovers: dict[str, tuple[str, ...]]

    def endpoint_named(self, physical: str | None) -> str | None:
        """A stack's physical id of an endpoint is its ARN; the name is what parameters hold."""
        if physical is None:
            return None
        by_arn = {e.arn: e.name for e in self.inventory.endpoints.values()}
        return by_arn.get(physical, physical)


def _progress(live: Live, t: Target, managed_by: dict[str, str]) -> Progress | str:
    """The target's progress, or why it cannot be taken over."""
    endpoints, parameters = live.inventory.endpoints, live.inventory.parameters
    resources = live.stacks.get(t.stack, {})
    managed = live.endpoint_named(resources.get(t.endpoint_logical_id))
    if managed is not None and managed not in endpoints:
        return (
            f"{t.stack} holds endpoint {managed}, which the account does not: it was deleted "
            f"out of band; delete the stack's resources of {t.name} or redeploy {t.stack}"
        )
    values = {p: parameters.get(p) for p in t.parameters}
    missing = [p for p, v in values.items() if v is None]
    if missing:
        return (
            f"{t.name} has no hand-made counterpart: {', '.join(missing)} do not exist "
            "(deploy new models after the take-over)"
        )
    named = {v for v in values.values() if v}
    gone = sorted(n for n in named if n not in endpoints)
    if gone:
        return f"a parameter of {t.name} names {', '.join(gone)}, which does not exist"
    others = sorted(n for n in named if managed_by.get(n, t.name) != t.name)
    if others:
        return (
            f"a parameter of {t.name} names {', '.join(others)}, the endpoint of "
            f"{managed_by[others[0]]}: someone edited it by hand; point it back"
        )
    if managed is not None:
        # A config's physical id is its ARN, which holds the name in lower case.
        config = resources.get(t.config_logical_id, "").rsplit("/", 1)[-1]
        running = endpoints[managed].config_name
        if config and running.lower() != config.lower():
            return (
                f"{managed} runs config {running}, not its stack's {config}: someone changed "
                "it by hand; update it back to its stack's config"
            )
    tagged = [e.name for e in endpoints.values() if e.replaced_by == t.name]
    olds = {n for n in named if n != managed} | set(tagged)
    if len(olds) > 1:
        return f"the parameters of {t.name} name several endpoints: {sorted(olds)}"
    old = next(iter(olds), None)
    flipped = managed is not None and named == {managed}
    modified = live.inventory.parameters_modified
    return Progress(
        target=t,
        old=old,
        old_concurrency=endpoints[old].max_concurrency if old else None,
        adopted=old is None or endpoints[old].replaced_by == t.name,
        managed=managed,
        flipped=flipped,
        flipped_at=max(modified[p] for p in t.parameters) if flipped else None,
        imported=all(lid in resources for lid in t.parameter_logical_ids),
        leftovers=live.leftovers.get(t.name, ()),
    )


def fleet_state(live: Live, targets: list[Target], quota: int, leave: set[str]) -> FleetState:
    """Where each target stands; refuses, before any change, what cannot be taken over."""
    managed_by = {
        name: t.name
        for t in targets
        if (name := live.endpoint_named(live.stacks.get(t.stack, {}).get(t.endpoint_logical_id)))
    }
    problems: list[str] = []
    progress: list[Progress] = []
    for t in targets:
        found = _progress(live, t, managed_by)
        if isinstance(found, str):
            problems.append(found)
        else:
            progress.append(found)
    accounted = set(managed_by) | {n for p in progress for n in (p.old, p.managed) if n}
    accounted |= {
        v for t in targets for p in t.parameters if (v := live.inventory.parameters.get(p))
    }
    serverless = {
        e.name: e.max_concurrency or 0 for e in live.inventory.endpoints.values() if e.serverless
    }
    unknown = sorted(set(serverless) - accounted - leave)
    if unknown:
        problems.append(
            f"hand-made endpoints the registry does not know: {', '.join(unknown)}; add them to "
            "the registry, delete them, or pass --leave NAME to leave one alone"
        )
    if problems:
        raise MigrationError("the take-over cannot start:\n  " + "\n  ".join(problems))
    others = sum(c for n, c in serverless.items() if n not in accounted)
    return FleetState(tuple(progress), others, quota)
