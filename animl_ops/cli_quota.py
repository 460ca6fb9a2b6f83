"""`quota`, `quota --live` and `quota plan`: serverless concurrency, planned, live and sized."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from animl_contract.conversion import ConversionReport
from animl_ops import concurrency_write, paths, plan_reader, plan_report, traffic
from animl_ops import quota_plan as quota_plan_model
from animl_ops.aws_account import AwsAccount
from animl_ops.cli_common import (
    JsonOption,
    LatencyRatioOption,
    OpsError,
    RegistryOption,
    err,
    fleet_of,
    out,
    working,
)
from animl_ops.quota import RegionUsage, live_usage, planned_usage, read_quota
from checkout import REGISTRY_DIR
from model_registry.loader import Fleet

quota_app = typer.Typer(
    rich_markup_mode=None, help="Serverless concurrency: planned, live, and sized from traffic."
)


def _usage_bar(used: int, quota: int, width: int = 20) -> str:
    filled = min(width, round(width * used / quota)) if quota else width
    colour = "red" if used > quota else "yellow" if used >= 0.9 * quota else "green"
    return f"[{colour}]{'█' * filled}[/{colour}]{'░' * (width - filled)} {used / quota:.0%}"


def _print_usage(usages: list[RegionUsage], title: str) -> None:
    table = Table(title=title)
    for column in ("account", "region", "environments", "usage", "concurrency / quota"):
        table.add_column(column)
    table.add_column("headroom", justify="right")
    table.add_column("endpoints", justify="right")
    table.add_column("quota from")
    for u in usages:
        table.add_row(
            u.account,
            u.region,
            ", ".join(u.environments),
            _usage_bar(u.concurrency, u.quota),
            f"{u.concurrency} / {u.quota}",
            str(u.headroom),
            f"{u.endpoints} / {u.endpoint_quota}",
            u.quota_source,
        )
    out.print(table)
    for u in usages:
        if u.concurrency > u.quota:
            out.print(
                f"[red]over quota[/red] {u.account}/{u.region}: max concurrency {u.concurrency} "
                f"of {u.quota}; lower max_concurrency in the registry by {-u.headroom} or more"
            )
        if u.endpoints > u.endpoint_quota:
            out.print(
                f"[red]over quota[/red] {u.account}/{u.region}: {u.endpoints} endpoints, "
                f"{u.endpoint_quota} allowed"
            )
        for name in u.unmanaged:
            out.print(
                f"[yellow]unmanaged[/yellow] {u.account}/{u.region}: endpoint {name} is not in the registry"
            )
        for old, new in u.takeover:
            out.print(
                f"[cyan]take-over[/cyan] {u.account}/{u.region}: hand-made endpoint {old} is "
                f"being replaced by {new} (migrate run)"
            )
        for drift in u.drift:
            out.print(
                f"[red]drift[/red] {u.account}/{u.region}: {drift.parameter}: {drift.problem}"
            )


def _read_live(fleet: Fleet, planned: RegionUsage) -> RegionUsage:
    account = AwsAccount.open(planned.account, planned.region)
    quota = read_quota(account.client("service-quotas"))
    return live_usage(fleet, planned, account.inventory(), quota)


@quota_app.callback(invoke_without_command=True)
def quota(
    ctx: typer.Context,
    live: Annotated[
        bool, typer.Option("--live", help="read the account, not just the registry")
    ] = False,
    environment: Annotated[
        str | None,
        typer.Option("--environment", "-e", help="only this environment's account and region"),
    ] = None,
    registry: RegistryOption = REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Serverless concurrency per account and region; exit 1 when over quota or drifted."""
    if ctx.invoked_subcommand is not None:
        return
    fleet = fleet_of(registry)
    usages = planned_usage(fleet)
    if environment:
        env = fleet.environment(environment)
        usages = [u for u in usages if (u.account, u.region) == (env.account, env.region)]
    if live:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=not err.is_terminal,  # keeps stderr to the one error line in scripts
        ) as progress:
            for u in usages:
                progress.add_task(f"reading {u.account}/{u.region} …", total=None)
            usages = [_read_live(fleet, u) for u in usages]
    if as_json:
        print(json.dumps([u.as_json() for u in usages], indent=2))
    else:
        _print_usage(
            usages, "live serverless concurrency" if live else "planned serverless concurrency"
        )
    if any(u.over_quota or u.drift for u in usages):
        raise typer.Exit(1)


def _int8_latency_ratio(report: Path) -> float:
    try:
        parsed = ConversionReport.model_validate_json(report.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise OpsError(f"--report {report}: not a conversion.json ({error})") from error
    if parsed.int8 is None:
        raise OpsError(f"--report {report}: the conversion has no INT8 graph (no int8 section)")
    return parsed.int8.latency_ratio


@quota_app.command("plan")
def quota_plan(
    environment: Annotated[
        str | None,
        typer.Option("--environment", "-e", help="the environment (needed when there are several)"),
    ] = None,
    days: Annotated[
        float,
        typer.Option("--days", min=1, max=traffic.MAX_DAYS, help="how far back to read CloudWatch"),
    ] = 30,
    headroom: Annotated[
        float, typer.Option("--headroom", min=0, max=4, help="over the observed peak")
    ] = quota_plan_model.DEFAULT_HEADROOM,
    latency_ratio: LatencyRatioOption = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="conversion.json of an INT8 graph: its latency ratio"),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="apply the recommendations to the registry")
    ] = False,
    registry: RegistryOption = REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Size each endpoint's max concurrency from its CloudWatch history; --write applies it."""
    if report is not None:
        if latency_ratio is not None:
            raise OpsError("--report gives the latency ratio: drop --latency-ratio")
        latency_ratio = _int8_latency_ratio(paths.existing_file(report, "--report"))
    fleet = fleet_of(registry)
    if environment is None:
        if len(fleet.environments) > 1:
            names = ", ".join(e.name for e in fleet.environments)
            raise OpsError(f"the registry has several environments ({names}): choose one with -e")
        environment = fleet.environments[0].name
    env = fleet.environment(environment)
    account = AwsAccount.open(env.account, env.region)
    now = datetime.now(UTC)
    with working(f"reading {days:g} days of CloudWatch for {env.name} …"):
        observed = plan_reader.observe(account.session, fleet, env, days, now)
    plan = observed.plan(headroom)
    faster = observed.plan(headroom, latency_ratio) if latency_ratio is not None else None
    if as_json:
        data = plan.as_json() | ({"faster": faster.as_json()} if faster else {})
        print(json.dumps(data, indent=2))
    else:
        plan_report.print_plan(plan, out, faster)
    changes = [
        concurrency_write.Change(p.model, p.kind, p.recommended)
        for p in plan.endpoints
        if p.recommended is not None and p.change
    ]
    if not write:
        if changes and not as_json:
            out.print(f"dry run: --write sets {len(changes)} max_concurrency values", markup=False)
        return
    try:
        written = concurrency_write.write_changes(registry, env, changes)
    except concurrency_write.WriteRefused as error:
        raise OpsError(str(error)) from error
    out.print(f"wrote {len(changes)} max_concurrency values into {', '.join(written)}; review "
              "with git diff and make diff", markup=False)  # fmt: skip
