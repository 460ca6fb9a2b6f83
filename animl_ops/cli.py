"""animl-ops: quota, MLModel records, smoke tests and cost, for the ops engineers of Animl.

    python -m animl_ops quota [--live] [--environment NAME] [--json]
    python -m animl_ops mlmodel export MODEL [--check ARTIFACT]
    python -m animl_ops classes import MODEL SOURCE [--column NAME]
    python -m animl_ops artifact build MODEL --onnx model.onnx --out model.tar.gz
    python -m animl_ops migrate plan|run ENVIRONMENT [--drain-minutes M] [--leave ENDPOINT]
    python -m animl_ops smoke ENVIRONMENT MODEL [--endpoint batch|realtime] [--stage STAGE] [--url URL]
    python -m animl_ops cost --images N --seconds-per-image S [--instance TYPE] [--json]

Expected failures print one line that says what to do and exit non-zero; never a traceback.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import boto3
import botocore.exceptions
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from animl_contract import limits
from animl_contract.conversion import ConversionReport
from animl_ops import (
    animl_api,
    concurrency_write,
    migration,
    migration_plan,
    paths,
    plan_reader,
    plan_report,
    traffic,
)
from animl_ops import cost as cost_model
from animl_ops import quota_plan as quota_plan_model
from animl_ops.artifact_build import BuildFailed, build_artifact
from animl_ops.cdk_runner import Assembly, CdkCommandError, CdkRunner
from animl_ops.classes_import import ImportFailed, import_classes
from animl_ops.inventory import read_inventory
from animl_ops.local_runtime import LocalRuntimeError
from animl_ops.mlmodel import IncompleteRecord, check_artifact, mlmodel_record, unverified_notes
from animl_ops.quota import RegionUsage, live_usage, planned_usage, read_quota
from animl_ops.smoke import SmokeError, SmokeResult, smoke_endpoint, smoke_named, smoke_url
from animl_ops.terminal import stdout_console
from model_registry.loader import (
    DEFAULT_REGISTRY_DIR,
    Fleet,
    RegistryError,
    UnknownName,
    load_fleet,
)
from model_registry.schema import EnvironmentSpec

THROTTLING_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException"}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=__doc__.splitlines()[0],
    rich_markup_mode=None,  # typer 0.29's rich help shows every flag as taking a <bool>
)
mlmodel_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="MLModel records for MongoDB."
)
app.add_typer(mlmodel_app, name="mlmodel")
classes_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="A model's classes in the registry."
)
app.add_typer(classes_app, name="classes")
artifact_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="model.tar.gz, from the registry."
)
app.add_typer(artifact_app, name="artifact")
quota_app = typer.Typer(
    rich_markup_mode=None, help="Serverless concurrency: planned, live, and sized from traffic."
)
app.add_typer(quota_app, name="quota")
migrate_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Take over a hand-made fleet."
)
app.add_typer(migrate_app, name="migrate")
out = stdout_console()
err = Console(stderr=True, soft_wrap=True)

RegistryOption = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar="ANIML_REGISTRY",
        help="the model registry folder (default: model_registry/ of this checkout)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
LatencyRatioOption = Annotated[
    float | None,
    typer.Option(
        "--latency-ratio",
        min=0.01,
        max=10,
        help="a faster graph's latency as a share of this one's (int8.latency_ratio of "
        "conversion.json): what it saves in cost and concurrency",
    ),
]


def _working(message: str) -> AbstractContextManager:
    """A spinner on a terminal; nothing in scripts, whose stderr holds only errors."""
    return err.status(message) if err.is_terminal else nullcontext()


class OpsError(Exception):
    """An expected failure: its message says what is wrong and what to do."""


def _fleet(registry: Path) -> Fleet:
    registry = paths.existing_folder(registry, "--registry", "model files (models/*.yaml)")
    try:
        return load_fleet(registry)
    except RegistryError as error:
        raise OpsError(f"the registry is invalid:\n{error}") from error


def _aws_failure(error: Exception) -> OpsError:
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return OpsError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) "
            "for the environment's account, or run `aws sso login`"
        )
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return OpsError(f"cannot reach AWS ({error}): check the network or AWS_ENDPOINT_URL")
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            return OpsError(f"AWS throttled the call ({code}): wait a minute and run it again")
        return OpsError(f"AWS refused the call: {error}")
    return OpsError(f"AWS call failed: {error}")


def _session(account: str, region: str) -> boto3.Session:
    """A session in `region`, refused unless its credentials belong to `account`."""
    session = boto3.Session(region_name=region)
    actual = session.client("sts").get_caller_identity()["Account"]
    if actual != account:
        raise OpsError(
            f"the credentials are for account {actual}, but the environment is in account "
            f"{account}: use a profile of that account"
        )
    return session


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
    session = _session(planned.account, planned.region)
    inventory = read_inventory(session.client("sagemaker"), session.client("ssm"))
    return live_usage(fleet, planned, inventory, read_quota(session.client("service-quotas")))


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
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Serverless concurrency per account and region; exit 1 when over quota or drifted."""
    if ctx.invoked_subcommand is not None:
        return
    fleet = _fleet(registry)
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
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Size each endpoint's max concurrency from its CloudWatch history; --write applies it."""
    if report is not None:
        if latency_ratio is not None:
            raise OpsError("--report gives the latency ratio: drop --latency-ratio")
        latency_ratio = _int8_latency_ratio(paths.existing_file(report, "--report"))
    fleet = _fleet(registry)
    if environment is None:
        if len(fleet.environments) > 1:
            names = ", ".join(e.name for e in fleet.environments)
            raise OpsError(f"the registry has several environments ({names}): choose one with -e")
        environment = fleet.environments[0].name
    env = fleet.environment(environment)
    session = _session(env.account, env.region)
    now = datetime.now(UTC)
    with _working(f"reading {days:g} days of CloudWatch for {env.name} …"):
        observed = plan_reader.observe(session, fleet, env, days, now)
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


@mlmodel_app.command("export")
def mlmodel_export(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="model.tar.gz: compare its config with the registry, serve it and read each "
            "record's answer as the Animl API does",
        ),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
) -> None:
    """Print the model's MLModel records as a JSON array, ready for MongoDB."""
    spec = _fleet(registry).model(model)
    unrouted = [r.id for r in spec.records if animl_api.interface(r.id) is None]
    if unrouted:
        raise OpsError(
            f"the Animl API routes no record {unrouted} (src/ml/modelInterfaces.ts): it would "
            f"drop every message; fix records in model_registry/models/{model}.yaml"
        )
    records, incomplete = [], []
    for record in spec.records:
        try:
            records.append(mlmodel_record(spec, record))
        except IncompleteRecord as error:
            incomplete.append(str(error))
    if incomplete:  # every record's missing values at once, not the first record's alone
        raise OpsError("\n".join(incomplete))
    if check is not None:
        check = paths.existing_file(check, "--check")
        with _working(f"serving {check.name} with the container runtime …"):
            result = check_artifact(spec, check)
        for problem in result.problems:
            err.print(f"mismatch {model}: {problem}", markup=False, highlight=False)
        if result.problems:
            raise typer.Exit(1)
        for record_id, labels in result.served.items():
            err.print(f"{record_id}: the Animl API reads the answer as labels {list(labels)}")
        err.print(f"{model}: {result.precision}", markup=False, highlight=False)
    for note in unverified_notes(spec):
        err.print(f"unverified {model}: {note}", markup=False, highlight=False)
    print(json.dumps(records, indent=2, ensure_ascii=False))


@artifact_app.command("build")
def artifact_build(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    onnx: Annotated[Path, typer.Option("--onnx", help="the model's ONNX graph")],
    out: Annotated[Path, typer.Option("--out", help="where to write model.tar.gz")],
    detector: Annotated[
        Path | None, typer.Option("--detector", help="SpeciesNet: the detector's ONNX graph")
    ] = None,
    geofence: Annotated[
        Path | None, typer.Option("--geofence", help="SpeciesNet: the release's geofence JSON")
    ] = None,
    optimize: Annotated[
        bool, typer.Option("--optimize", help="ship the graph ONNX Runtime optimized")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="conversion.json of python -m animl_convert, to ship"),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
) -> None:
    """Write animl-model.json from the registry entry, then package and validate the archive."""
    onnx = paths.existing_file(onnx, "--onnx")
    out = paths.output_file(out, "--out")
    detector, geofence, report = (
        None if given is None else paths.existing_file(given, option)
        for given, option in (
            (detector, "--detector"),
            (geofence, "--geofence"),
            (report, "--report"),
        )
    )
    spec = _fleet(registry).model(model)
    with _working(f"packaging {model} and serving it once …"):
        try:
            summary = build_artifact(spec, onnx, out, detector, optimize, geofence, report)
        except BuildFailed as error:
            raise OpsError(f"{model}: the packaging tool refused: {error}") from error
    print(summary)


@classes_app.command("import")
def classes_import(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    source: Annotated[
        Path, typer.Argument(help="index_to_name.json, labels.txt (one a line) or a CSV")
    ],
    column: Annotated[
        str | None, typer.Option("--column", help="the CSV column holding the labels")
    ] = None,
    taxonomy: Annotated[
        bool, typer.Option("--taxonomy", help="SOURCE is a SpeciesNet taxonomy_release.txt")
    ] = False,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
) -> None:
    """Write the model's labels, in output order, from its own files into the registry."""
    source = paths.existing_file(source, "SOURCE")
    registry = paths.existing_folder(registry, "--registry", "model files (models/*.yaml)")
    try:
        count = import_classes(registry, model, source, column, taxonomy)
    except ImportFailed as error:
        raise OpsError(str(error)) from error
    out.print(
        f"{model}: {count} labels written to {registry.name}/classes/ and "
        f"{registry.name}/models/{model}.yaml points at them; review with git diff"
    )


def _print_smoke(result: SmokeResult, precision: str, as_json: bool) -> None:
    """precision: what the registry says the endpoint's artifact computes in."""
    if as_json:
        print(json.dumps(result.as_json() | {"precision": precision}, indent=2))
        return
    verdict = "[green]OK[/green]" if result.ok else f"[red]FAILED[/red] {result.problem}"
    out.print(
        f"{result.target} ({precision}): {result.status}, {result.latency_ms} ms, "
        f"labels {list(result.labels)}, {verdict}"
    )
    if result.note:
        out.print(f"[yellow]{result.note}[/yellow]")


@app.command()
def smoke(
    environment: Annotated[str, typer.Argument(help="environment name in environments.yaml")],
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="batch or realtime (default: batch if declared)"),
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="whose SSM parameter (default: prod)")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="invoke a locally running container instead")
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Invoke a deployed endpoint with a sample image and check its response format."""
    fleet = _fleet(registry)
    env, spec = fleet.environment(environment), fleet.model(model)
    if spec.name not in {m.name for m in fleet.models_of(env)}:
        raise OpsError(f"environment {env.name} does not deploy model {model}")
    declared = [kind for kind, _ in spec.endpoints.items()]
    kind = endpoint or declared[0]
    if kind not in declared:
        raise OpsError(f"model {model} declares no {kind} endpoint; it has: {', '.join(declared)}")
    stage = stage or ("prod" if "prod" in env.stages else env.stages[0])
    if stage not in env.stages:
        raise OpsError(
            f"environment {env.name} has no stage {stage}; it has: {', '.join(env.stages)}"
        )
    with _working(f"invoking {model} {kind} ({env.name}/{stage}) …"):
        if url:
            result = smoke_url(url, spec, kind)
        else:
            session = _session(env.account, env.region)
            result = smoke_endpoint(
                session.client("ssm"),
                session.client("sagemaker"),
                session.client("sagemaker-runtime"),
                spec,
                kind,
                stage,
            )
    _print_smoke(result, spec.precision, as_json)
    if not result.ok:
        raise typer.Exit(1)


def _cost_sizes(
    registry: Path,
    model: str | None,
    kind: str | None,
    memory_mb: int | None,
    concurrency: int | None,
) -> tuple[int, int, str]:
    """Memory and max concurrency: given, or the registry endpoint's, never both."""
    if model is None:
        if kind is not None:
            raise OpsError("--endpoint needs --model")
        memory, limit = memory_mb or 6144, concurrency or 80
        source = "given" if memory_mb or concurrency else "defaults"
    else:
        if memory_mb is not None or concurrency is not None:
            raise OpsError("--model reads memory and concurrency from the registry: drop "
                           "--memory-mb and --concurrency, or drop --model")  # fmt: skip
        spec = _fleet(registry).model(model)
        endpoints = dict(spec.endpoints.items())
        kind = kind or next(iter(endpoints))
        if kind not in endpoints:
            raise OpsError(
                f"model {model} declares no {kind} endpoint; it has: {', '.join(endpoints)}"
            )
        memory, limit = endpoints[kind].memory_mb, endpoints[kind].max_concurrency
        source = f"{model} {kind} in the registry"
    if not (
        limits.MEMORY_MB_MIN <= memory <= limits.MEMORY_MB_MAX
        and memory % limits.MEMORY_MB_STEP == 0
    ):
        raise OpsError(
            f"--memory-mb {memory}: serverless memory is {limits.MEMORY_MB_MIN}..{limits.MEMORY_MB_MAX} "
            f"in steps of {limits.MEMORY_MB_STEP}"
        )
    if not limits.MAX_CONCURRENCY_MIN <= limit <= limits.MAX_CONCURRENCY_MAX:
        raise OpsError(
            f"--concurrency {limit}: serverless max concurrency is "
            f"{limits.MAX_CONCURRENCY_MIN}..{limits.MAX_CONCURRENCY_MAX}"
        )
    return memory, limit, source


@app.command()
def cost(
    images: Annotated[int, typer.Option("--images", min=1, help="images per month")],
    seconds_per_image: Annotated[
        float,
        typer.Option("--seconds-per-image", min=0.001, help="measured inference seconds per image"),
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", help="read memory and max concurrency from this registry model"),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="with --model: batch or realtime (default: the first)"),
    ] = None,
    memory_mb: Annotated[
        int | None, typer.Option("--memory-mb", help="serverless memory size (default 6144)")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="serverless max concurrency (default 80)")
    ] = None,
    instance: Annotated[
        str, typer.Option("--instance", help="dedicated real-time instance type")
    ] = "ml.c5.xlarge",
    region: Annotated[str, typer.Option("--region")] = "us-west-2",
    prices: Annotated[
        Path, typer.Option("--prices", help="dated price list (YAML)")
    ] = cost_model.DEFAULT_PRICES,
    latency_ratio: LatencyRatioOption = None,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Monthly serverless cost against dedicated instances, and the break-even volume."""
    price_list = cost_model.load_prices(paths.existing_file(prices, "--prices"))
    memory, limit, sizes_from = _cost_sizes(registry, model, endpoint, memory_mb, concurrency)
    workload = cost_model.Workload(images, seconds_per_image, memory, limit)
    result = cost_model.compare(workload, price_list, region, instance)
    faster = (
        cost_model.speed_up(workload, price_list, region, instance, latency_ratio)
        if latency_ratio is not None
        else None
    )
    if as_json:
        sizes = {"memory_mb": memory, "max_concurrency": limit, "sizes_from": sizes_from}
        extra = {"faster": faster.as_json()} if faster else {}
        print(json.dumps(result.as_json() | sizes | extra, indent=2))
        return
    table = Table(
        title=f"{images:,} images/month at {seconds_per_image} s/image ({region}, prices of {result.prices_as_of})"
    )
    table.add_column("option")
    table.add_column("USD per month", justify="right")
    table.add_row(
        f"serverless, {memory} MB, max concurrency {limit} ({sizes_from})",
        f"{result.serverless_per_month:,.2f}",
    )
    table.add_row(
        f"{result.instances_needed} x {instance}, always on", f"{result.dedicated_per_month:,.2f}"
    )
    out.print(table)
    out.print(f"at this volume {result.cheaper} is cheaper")
    if result.break_even_images_per_month is None:
        out.print(
            f"one {instance} serves at most {result.instance_capacity_per_month:,} images/month, "
            "less than it would need to cost as little as serverless: serverless is cheaper at "
            "any volume"
        )
    else:
        out.print(
            f"break-even: one {instance} costs what serverless does at "
            f"{result.break_even_images_per_month:,} images/month ({result.break_even_multiple}x "
            f"this volume) and serves up to {result.instance_capacity_per_month:,}"
        )
    if images > result.serverless_capacity_per_month:
        out.print(
            f"[yellow]at max concurrency {limit} the endpoint serves at most "
            f"{result.serverless_capacity_per_month:,} images/month[/yellow]"
        )
    if faster is not None:
        out.print(
            f"at {faster.latency_ratio:.2f}x the latency: {faster.serverless_per_month:,.2f} USD "
            f"per month serverless (saves {result.serverless_per_month - faster.serverless_per_month:,.2f}); "
            f"the same peak load needs max concurrency {faster.concurrency_for_same_peak} "
            f"instead of {limit}"
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


@dataclass
class _Migration:
    fleet: Fleet
    environment: EnvironmentSpec
    session: boto3.Session
    account: migration.Account
    assembly: Assembly
    targets: list[migration_plan.Target]
    quota: int
    leave: set[str]

    def state(self) -> migration_plan.FleetState:
        live = migration.read_live(self.account, {t.stack for t in self.targets})
        return migration.fleet_state(live, self.targets, self.quota, self.leave)


def _migration(environment: str, registry: Path, leave: list[str] | None, workdir: Path):
    fleet = _fleet(registry)
    env = fleet.environment(environment)
    session = _session(env.account, env.region)
    clients = {n: session.client(n) for n in ("sagemaker", "ssm", "cloudformation", "s3")}
    account = migration.Account(**clients)
    migration.check_movable(fleet.models_of(env))
    with _working("synthesizing the registry …"):
        assembly = CdkRunner(registry.resolve(), workdir).synth("target")
    targets = migration.targets(assembly, env, fleet.models_of(env))
    quota = read_quota(session.client("service-quotas")) or env.concurrency_quota
    return _Migration(fleet, env, session, account, assembly, targets, quota, set(leave or ()))


def _print_plan(state: migration_plan.FleetState, drain: timedelta) -> None:
    plan = migration_plan.simulate(state, datetime.now(UTC), drain)
    out.print(f"quota {state.quota}; now {state.total} in use; {len(plan)} steps", markup=False)
    for number, (step, total) in enumerate(plan, 1):
        text = (
            f"wait until the drain ends ({step.reason})"
            if isinstance(step, migration_plan.Wait)
            else step.describe()
        )
        out.print(f"{number:>3}. {text}  [total {total}/{state.quota}]", markup=False)
        if isinstance(step, migration_plan.Step) and step.action == "lower":
            out.print(
                f"     window: {step.target.parameters[0]} and the other stages name an endpoint "
                f"that serves with max concurrency {step.lower_to} from this step until its "
                "flip; requests above it are throttled and the Animl API retries them from its "
                "queue. During UpdateEndpoint the endpoint is Updating and still serves.",
                markup=False,
            )


@migrate_app.command("plan")
def migrate_plan(
    environment: Annotated[str, typer.Argument(help="environment name in environments.yaml")],
    drain_minutes: DrainOption = 60,
    leave: LeaveOption = None,
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
) -> None:
    """Print every step of the take-over with the region's concurrency after it; change nothing."""
    with tempfile.TemporaryDirectory(prefix="animl-migrate-") as workdir:
        m = _migration(environment, registry, leave, Path(workdir))
        _print_plan(m.state(), timedelta(minutes=drain_minutes))


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
    registry: RegistryOption = DEFAULT_REGISTRY_DIR,
) -> None:
    """Take the fleet over step by step; run it again after any stop to continue."""
    drain = timedelta(minutes=drain_minutes)
    with tempfile.TemporaryDirectory(prefix="animl-migrate-") as workdir:
        m = _migration(environment, registry, leave, Path(workdir))
        runtime = m.session.client("sagemaker-runtime")

        def smoke_target(target: migration_plan.Target, endpoint: str) -> str | None:
            result = smoke_named(runtime, m.fleet.models[target.model], target.kind, endpoint)
            return result.problem

        executor = migration.Executor(
            m.account,
            m.assembly,
            m.environment.region,
            f"cdk-hnb659fds-assets-{m.environment.account}-{m.environment.region}",
            smoke_target,
            keep_configs,
        )
        state = m.state()
        _print_plan(state, drain)
        number = 0
        while (step := migration_plan.next_step(state, datetime.now(UTC), drain)) is not None:
            if isinstance(step, migration_plan.Wait):
                seconds = (step.until - datetime.now(UTC)).total_seconds()
                out.print(f"waiting {seconds:.0f} s: {step.reason}", markup=False)
                time.sleep(max(0.0, min(seconds, 30.0)))
            else:
                number += 1
                out.print(f"step {number}: {step.describe()}", markup=False)
                progress = next(p for p in state.progress if p.target == step.target)
                executor.run(step, state, progress)
                out.print(f"step {number} done: {step.action} {step.target.name}", markup=False)
                if number == steps:
                    out.print(
                        f"stopped after {steps} steps (--steps); run `migrate run {environment}` "
                        "again to continue",
                        markup=False,
                    )
                    return
            state = m.state()
        out.print(
            f"take-over of {environment} complete: the stacks hold every endpoint and "
            f"parameter; `npx cdk deploy '{environment}-endpoints-*'` has nothing to change",
            markup=False,
        )


def main() -> int:
    """Click reports usage errors itself (exit 2); expected failures become one line here."""
    try:
        app()
    except (
        OpsError,
        paths.BadPath,
        UnknownName,
        SmokeError,
        LocalRuntimeError,
        cost_model.PricesError,
        migration.MigrationError,
        migration_plan.NoSafeOrder,
        CdkCommandError,
    ) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 2
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        err.print(f"error: {_aws_failure(error)}", markup=False, highlight=False)
        return 2
    return 0
