"""`make demo`: the Animl environment deployed into a local AWS API emulator, for people without AWS.

Starts the emulator on localhost, bootstraps, deploys the endpoints and then the alarms, topic and
dashboard with the real `npx cdk`, prints what the emulator then holds, and stops the emulator.
Image assets go through the Docker stand-in, because the emulator has no image registry to push to.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

from animl_emulator.cdk_cli import CdkCommandError
from animl_emulator.deployment import Deployment, deploy_environment
from animl_emulator.emulator import running_emulator
from animl_ops.terminal import stdout_console
from model_registry.loader import DEFAULT_REGISTRY_DIR, load_fleet


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", default="animl")
    args = parser.parse_args()
    console = stdout_console()
    registry = DEFAULT_REGISTRY_DIR
    with tempfile.TemporaryDirectory(prefix="animl-demo-") as temp:
        workdir = Path(temp)
        with running_emulator(workdir) as emulator:
            console.print(f"emulator listening on {emulator.url}")
            account_id = load_fleet(registry).environment(args.environment).account
            account = emulator.account(account_id)
            started = time.monotonic()
            try:
                with console.status("npx cdk synth, bootstrap and deploy …"):
                    deployment = deploy_environment(
                        emulator, registry, args.environment, account, workdir
                    )
                with console.status("npx cdk deploy of the alarms, topic and dashboard …"):
                    assembly = deployment.synth("monitoring")
                    deployment.cli.deploy(assembly, *deployment.monitoring_stacks)
            except CdkCommandError as error:
                console.print(f"[red]deploy failed[/red]\n{error}")
                return 1
            console.print(f"deployed in {time.monotonic() - started:.0f} s")
            console.print(deployed_table(deployment))
            console.print(monitoring_summary(deployment))
        console.print("emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
