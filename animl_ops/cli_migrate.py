"""`migrate plan` and `migrate run`: the take-over of a hand-made fleet."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from animl_ops.aws_account import AwsAccount
from animl_ops.cli_common import RegistryOption, fleet_of, out, working
from animl_ops.migration_plan import Target
from animl_ops.migration_run import Takeover, print_plan, run
from animl_ops.migration_steps import Executor
from animl_ops.smoke import smoke_named
from checkout import REGISTRY_DIR

migrate_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Take over a hand-made fleet."
)


DrainOption = Annotated[
    float,
    typer.Option(
        "--drain-minutes",
        min=0,
        help="how long an old endpoint stays after its parameters moved (API caches per container)",
    ),
]
LeaveOption = Annotated[
    list[str] | None,
    typer.Option("--leave", help="a hand-made endpoint to leave alone (repeatable)"),
]


def _takeover(environment: str, registry: Path, workdir: Path, **options) -> Takeover:
    fleet = fleet_of(registry)
    env = fleet.environment(environment)
    account = AwsAccount.open(env.account, env.region)
    with working("synthesizing the registry …"):
        return Takeover.prepare(fleet, env, account, workdir, registry, **options)


def _say(line: str) -> None:
    out.print(line, markup=False)


@migrate_app.command("plan")
def migrate_plan(
    environment: Annotated[str, typer.Argument(help="environment name in environments.yaml")],
    drain_minutes: DrainOption = 60,
    leave: LeaveOption = None,
    registry: RegistryOption = REGISTRY_DIR,
) -> None:
    """Print every step of the take-over with the region's concurrency after it; change nothing."""
    with tempfile.TemporaryDirectory(prefix="animl-migrate-") as workdir:
        takeover = _takeover(environment, registry, Path(workdir), leave=set(leave or ()))
        print_plan(takeover.state(), timedelta(minutes=drain_minutes), _say)


@migrate_app.command("run")
def migrate_run(
    environment: Annotated[str, typer.Argument(help="environment name in environments.yaml")],
    drain_minutes: DrainOption = 60,
    leave: LeaveOption = None,
    keep_configs: Annotated[
        bool, typer.Option("--keep-configs", help="keep the hand-made configs and models")
    ] = False,
    steps: Annotated[
        int | None,
        typer.Option("--steps", min=1, help="stop after this many steps; run again to continue"),
    ] = None,
    registry: RegistryOption = REGISTRY_DIR,
) -> None:
    """Take the fleet over step by step; run it again after any stop to continue."""
    with tempfile.TemporaryDirectory(prefix="animl-migrate-") as workdir:
        takeover = _takeover(
            environment, registry, Path(workdir), leave=set(leave or ()), keep_configs=keep_configs
        )
        runtime = takeover.account.client("sagemaker-runtime")

        def smoke_target(target: Target, endpoint: str) -> str | None:
            model = takeover.fleet.models[target.model]
            return smoke_named(runtime, model, target.kind, endpoint).problem

        stack = takeover.targets[0].stack
        executor = Executor(
            takeover.account,
            takeover.assembly,
            takeover.assembly.file_assets_bucket(stack),
            smoke_target,
            keep_configs,
        )
        if not run(takeover, executor, timedelta(minutes=drain_minutes), steps, _say):
            _say(f"stopped after {steps} steps (--steps); run `migrate run {environment}` again "
                 "to continue")  # fmt: skip
            return
    kept = " (the hand-made configs and models kept: --keep-configs)" if keep_configs else ""
    _say(
        f"take-over of {environment} complete: the stacks hold every endpoint and parameter, "
        f"and the account no hand-made endpoint{kept}; `npx cdk deploy '{environment}-endpoints-*'` "
        "has nothing to change"
    )
