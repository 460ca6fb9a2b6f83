"""One environment of a registry folder, bootstrapped and deployed with `npx cdk` into the emulator."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from animl_emulator.cdk_cli import CdkCli
from animl_emulator.emulator import Account, Emulator
from animl_ops.inventory import Inventory, read_inventory
from animl_ops.plan import PlannedEndpoint, planned_endpoints
from model_registry.loader import load_fleet


@dataclass
class Deployment:
    emulator: Emulator
    registry: Path
    environment: str
    account: Account
    cli: CdkCli
    workdir: Path

    @property
    def region(self) -> str:
        return load_fleet(self.registry).environment(self.environment).region

    @property
    def stacks(self) -> str:
        return f"{self.environment}-endpoints-*"

    @property
    def monitoring_stacks(self) -> tuple[str, str]:
        return f"{self.environment}-monitoring", f"{self.environment}-alarms-*"

    def synth(self, label: str) -> Path:
        return self.cli.synth(self.workdir / f"cdk.out.{label}", self.registry)

    def deploy(self, assembly: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cli.deploy(assembly, self.stacks, check=check)

    def planned(self) -> list[PlannedEndpoint]:
        fleet = load_fleet(self.registry)
        return planned_endpoints(fleet, fleet.environment(self.environment))

    def inventory(self, account: Account | None = None, region: str | None = None) -> Inventory:
        account, region = account or self.account, region or self.region
        return read_inventory(
            self.emulator.client("sagemaker", account, region),
            self.emulator.client("ssm", account, region),
        )


def deploy_environment(
    emulator: Emulator,
    registry: Path,
    environment: str,
    account: Account,
    workdir: Path,
    assembly: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Deployment:
    """The onboarding procedure: bootstrap the account and region, then deploy the endpoints.
    progress is told each step as it starts."""
    region = load_fleet(registry).environment(environment).region
    deployment = Deployment(
        emulator,
        registry,
        environment,
        account,
        CdkCli(emulator, account, region, workdir),
        workdir,
    )
    if assembly is None:
        progress("npx cdk synth (the registry, cdk-nag and the quota guard)")
        assembly = deployment.synth("initial")
    progress(f"npx cdk bootstrap aws://{account.account_id}/{region}")
    deployment.cli.bootstrap(assembly)
    progress(f"npx cdk deploy '{deployment.stacks}'")
    deployment.deploy(assembly)
    return deployment
