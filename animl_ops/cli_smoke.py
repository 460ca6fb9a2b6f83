"""`smoke`: a deployed endpoint, or a local container, invoked with a sample image."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from animl_ops.aws_account import AwsAccount
from animl_ops.cli_common import JsonOption, OpsError, RegistryOption, fleet_of, out, working
from animl_ops.smoke import SmokeResult, smoke_endpoint, smoke_url
from checkout import REGISTRY_DIR


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
    registry: RegistryOption = REGISTRY_DIR,
    as_json: JsonOption = False,
) -> None:
    """Invoke a deployed endpoint with a sample image and check its response format."""
    fleet = fleet_of(registry)
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
    with working(f"invoking {model} {kind} ({env.name}/{stage}) …"):
        if url:
            result = smoke_url(url, spec, kind)
        else:
            account = AwsAccount.open(env.account, env.region)
            result = smoke_endpoint(
                account.ssm,
                account.sagemaker,
                account.client("sagemaker-runtime"),
                spec,
                kind,
                stage,
            )
    _print_smoke(result, spec.precision, as_json)
    if not result.ok:
        raise typer.Exit(1)
