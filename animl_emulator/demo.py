"""`make demo`: the Animl environment deployed into a local AWS API emulator, for people without AWS.

Starts the emulator on localhost, bootstraps, deploys the endpoints and then the alarms, topic and
dashboard with the real `npx cdk`, prints what the emulator then holds, and, where a Docker engine
answers, ends with the Animl API's own calls through InvokeEndpoint on one model of each family,
each served by its own container from a sample artifact (`sample_artifacts`), and the labels the
API would write. Without an engine it says why, and image assets are only checked, not built.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

from animl_emulator import sample_artifacts
from animl_emulator.cdk_cli import CdkCommandError
from animl_emulator.deployment import Deployment, deploy_environment
from animl_emulator.docker_engine import ImageUnavailable, ensure_base_image
from animl_emulator.emulator import running_emulator
from animl_ops.smoke import smoke_endpoint
from animl_ops.terminal import stdout_console
from checkout import REGISTRY_DIR
from model_registry.loader import load_fleet

#: One model of each family, invoked at the end as the Animl API calls it.
INVOKED = {"detector": "megadetector-v5a", "crop-classifier": "mirav2",
           "speciesnet": "speciesnetv401a"}  # fmt: skip


def deployed_table(deployment: Deployment) -> Table:
    inventory = deployment.inventory()
    table = Table(title=f"{deployment.environment}: read back from the emulator with boto3")
    for column in ("SSM parameter", "endpoint", "memory MB", "max concurrency"):
        table.add_column(column, justify="right" if column[0] == "m" else "left", overflow="fold")
    for parameter, endpoint_name in sorted(inventory.parameters.items()):
        endpoint = inventory.endpoints[endpoint_name]
        table.add_row(
            parameter, endpoint_name, str(endpoint.memory_mb), str(endpoint.max_concurrency)
        )
    table.caption = (
        f"{len(inventory.endpoints)} endpoints, {len(inventory.parameters)} parameters, "
        f"total max concurrency {inventory.serverless_concurrency()}"
    )
    return table


def monitoring_summary(deployment: Deployment) -> str:
    cloudwatch = deployment.emulator.client("cloudwatch", deployment.account, deployment.region)
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    states = Counter(a["StateValue"] for a in alarms)
    by_state = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return f"{len(alarms)} alarms ({by_state}); dashboards: {', '.join(dashboards)}"


def invocations_table(deployment: Deployment, artifacts: sample_artifacts.SampleArtifacts) -> Table:
    """The API's call to each invoked model's batch endpoint, through InvokeEndpoint."""
    fleet = load_fleet(artifacts.registry)
    ssm, sagemaker, runtime = (
        deployment.emulator.client(s, deployment.account, deployment.region)
        for s in ("ssm", "sagemaker", "sagemaker-runtime")
    )
    table = Table(title="the Animl API's calls through InvokeEndpoint, each on its own container")
    for column in ("model", "endpoint", "latency ms", "labels the API would write"):
        table.add_column(column, justify="right" if column == "latency ms" else "left")
    for name in INVOKED.values():
        result = smoke_endpoint(ssm, sagemaker, runtime, fleet.model(name), "batch", "prod")
        labels = ", ".join(result.labels) or (result.problem or result.note or "none")
        table.add_row(name, result.target, f"{result.latency_ms:.0f}", labels)
    table.caption = (
        "sample artifacts (no real weights here): the detector answers one animal box, the "
        "classifiers answer by colour; SpeciesNet carries the sample release's labels"
    )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", default="animl")
    args = parser.parse_args()
    console = stdout_console()
    started = time.monotonic()

    def step(message: str) -> None:
        """A line per step with the time since the start: a deploy takes a while."""
        console.print(f"[{time.monotonic() - started:4.0f} s] {message}", markup=False)

    try:
        step(f"images build on {ensure_base_image()}")
        engine = True
    except ImageUnavailable as reason:
        console.print(f"[yellow]no inference at the end[/yellow]: {reason}")
        engine = False
    with tempfile.TemporaryDirectory(prefix="animl-demo-") as temp:
        workdir = Path(temp)
        registry, artifacts = REGISTRY_DIR, None
        environment = load_fleet(registry).environment(args.environment)
        if engine:
            step("sample artifacts for " + ", ".join(INVOKED.values()))
            registry = sample_artifacts.sample_registry(registry, workdir / "model_registry")
            artifacts = sample_artifacts.build(
                registry, list(INVOKED.values()), environment.region, workdir / "artifacts"
            )
        with running_emulator(workdir, local_sagemaker=engine) as emulator:
            step(f"emulator listening on {emulator.url}")
            account = emulator.account(environment.account)
            try:
                if artifacts is not None:
                    sample_artifacts.upload(emulator, account, environment.region, artifacts)
                deployment = deploy_environment(
                    emulator, registry, args.environment, account, workdir, progress=step
                )
                stacks = deployment.monitoring_stacks
                step(
                    f"npx cdk deploy {' '.join(repr(s) for s in stacks)} (alarms, topic, dashboard)"
                )
                deployment.cli.deploy(deployment.synth("monitoring"), *stacks)
            except CdkCommandError as error:
                console.print(f"[red]deploy failed[/red]\n{error}")
                return 1
            step("deployed")
            console.print(deployed_table(deployment))
            if artifacts is not None:
                step("cold starts and the Animl API's calls through InvokeEndpoint")
                console.print(invocations_table(deployment, artifacts))
            console.print(monitoring_summary(deployment))
        step("emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
