"""`cost`: a month of serverless against dedicated instances."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from animl_contract import limits
from animl_ops import cost as cost_model
from animl_ops import paths
from animl_ops.cli_common import (
    JsonOption,
    LatencyRatioOption,
    OpsError,
    RegistryOption,
    fleet_of,
    out,
)
from checkout import REGISTRY_DIR


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
        spec = fleet_of(registry).model(model)
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
    registry: RegistryOption = REGISTRY_DIR,
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
