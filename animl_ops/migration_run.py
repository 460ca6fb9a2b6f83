"""`migrate plan` and `migrate run`: the take-over of one environment, read from the account
before every step, carried out by migration_steps, and reported through `say`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from animl_ops.aws_account import AwsAccount
from animl_ops.cdk_runner import Assembly, CdkRunner
from animl_ops.migration_live import read_live
from animl_ops.migration_plan import FleetState, Step, Target, Wait, next_step, simulate
from animl_ops.migration_state import fleet_state
from animl_ops.migration_steps import Executor
from animl_ops.migration_targets import check_movable, targets
from animl_ops.quota import read_quota
from model_registry.loader import Fleet
from model_registry.schema import EnvironmentSpec

Say = Callable[[str], None]


@dataclass
class Takeover:
    fleet: Fleet
    environment: EnvironmentSpec
    account: AwsAccount
    assembly: Assembly
    targets: list[Target]
    quota: int
    leave: set[str] = field(default_factory=set)
    keep_configs: bool = False
    poll_s: float = 5.0

    @classmethod
    def prepare(
        cls, fleet: Fleet, environment: EnvironmentSpec, account: AwsAccount, workdir: Path,
        registry: Path, **options,
    ) -> Takeover:  # fmt: skip
        """Synthesizes the registry and finds every target in it; reads the region's quota."""
        models = fleet.models_of(environment)
        check_movable(models)
        assembly = CdkRunner(registry.resolve(), workdir).synth("target")
        found = targets(assembly, environment, models)
        quota = read_quota(account.client("service-quotas")) or environment.concurrency_quota
        return cls(fleet, environment, account, assembly, found, quota, **options)

    def state(self) -> FleetState:
        live = read_live(self.account, {t.stack for t in self.targets}, self.poll_s)
        if self.keep_configs:
            live = replace(live, leftovers={})
        return fleet_state(live, self.targets, self.quota, self.leave)


def print_plan(state: FleetState, drain: timedelta, say: Say) -> None:
    plan = simulate(state, datetime.now(UTC), drain)
    say(f"quota {state.quota}; now {state.total} in use; {len(plan)} steps")
    for number, (step, total) in enumerate(plan, 1):
        text = (
            f"wait until the drain ends ({step.reason})"
            if isinstance(step, Wait)
            else step.describe()
        )
        say(f"{number:>3}. {text}  [total {total}/{state.quota}]")
        if isinstance(step, Step) and step.action == "lower":
            say(
                f"     window: {step.target.parameters[0]} and the other stages name an endpoint "
                f"that serves with max concurrency {step.lower_to} from this step until its "
                "flip; requests above it are throttled and the Animl API retries them from its "
                "queue. During UpdateEndpoint the endpoint is Updating and still serves."
            )


def run(takeover: Takeover, executor: Executor, drain: timedelta, steps: int | None,
        say: Say) -> bool:  # fmt: skip
    """Every step until done (True) or `steps` steps were taken (False). Done is when the
    state, read from the account after the last step, holds no hand-made endpoint and no
    leftover of one (next_step has nothing left to do)."""
    state = takeover.state()
    print_plan(state, drain, say)
    number = 0
    while (step := next_step(state, datetime.now(UTC), drain)) is not None:
        if isinstance(step, Wait):
            seconds = (step.until - datetime.now(UTC)).total_seconds()
            say(f"waiting {seconds:.0f} s: {step.reason}")
            time.sleep(max(0.0, min(seconds, 30.0)))
        else:
            number += 1
            say(f"step {number}: {step.describe()}")
            progress = next(p for p in state.progress if p.target == step.target)
            executor.run(step, state, progress)
            say(f"step {number} done: {step.action} {step.target.name}")
            if number == steps:
                return False
        state = takeover.state()
    return True
