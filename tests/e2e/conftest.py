"""End-to-end fixtures: an emulator per test, the real CDK CLI, and the registry read back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from animl_ops.inventory import Inventory, read_inventory
from animl_ops.plan import PlannedEndpoint, find_environment, planned_endpoints
from model_registry.loader import load_fleet
from tests.conftest import RegistryCopy, cdk_synth
from tests.e2e.cdk_cli import CdkCli
from tests.e2e.emulator import Account, Emulator


@dataclass
class Deployment:
    """One environment of a registry copy, deployed with `npx cdk` into the emulator."""

    emulator: Emulator
    registry: RegistryCopy
    environment: str
    account: Account
    cli: CdkCli
    workdir: Path

    @property
    def region(self) -> str:
        return find_environment(load_fleet(self.registry.root), self.environment).region

    @property
    def stacks(self) -> str:
        return f"{self.environment}-endpoints-*"

    @property
    def monitoring_stacks(self) -> tuple[str, str]:
        return f"{self.environment}-monitoring", f"{self.environment}-alarms-*"

    def synth(self, label: str) -> Path:
        return self.cli.synth(self.workdir / f"cdk.out.{label}", self.registry.root)

    def deploy(self, assembly: Path, check: bool = True):
        return self.cli.deploy(assembly, self.stacks, check=check)

    def planned(self) -> list[PlannedEndpoint]:
        fleet = load_fleet(self.registry.root)
        return planned_endpoints(fleet, find_environment(fleet, self.environment))

    def inventory(self, account: Account | None = None, region: str | None = None) -> Inventory:
        account, region = account or self.account, region or self.region
        return read_inventory(
            self.emulator.client("sagemaker", account, region),
            self.emulator.client("ssm", account, region),
        )


def deploy_environment(
    emulator: Emulator,
    registry: RegistryCopy,
    environment: str,
    account: Account,
    workdir: Path,
    assembly: Path | None = None,
) -> Deployment:
    """The onboarding procedure: bootstrap the account and region, then deploy."""
    region = find_environment(load_fleet(registry.root), environment).region
    deployment = Deployment(
        emulator,
        registry,
        environment,
        account,
        CdkCli(emulator, account, region, workdir),
        workdir,
    )
    assembly = assembly or deployment.synth("initial")
    deployment.cli.bootstrap(assembly)
    deployment.deploy(assembly)
    return deployment


@pytest.fixture(scope="session")
def registry_assembly(tmp_path_factory) -> Path:
    """The checked-in registry, synthesized once for every test that starts from it."""
    outdir = tmp_path_factory.mktemp("e2e") / "cdk.out"
    result = cdk_synth(outdir)
    assert result.returncode == 0, result.stderr
    return outdir


@pytest.fixture
def animl(
    emulator: Emulator,
    animl_account: Account,
    registry: RegistryCopy,
    registry_assembly: Path,
    tmp_path: Path,
) -> Deployment:
    """The Animl environment deployed into its account of environments.yaml."""
    return deploy_environment(
        emulator, registry, "animl", animl_account, tmp_path, registry_assembly
    )


_E2E_SECONDS: list[float] = []


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Hooks of a folder's conftest see every item of the session: count this folder's only.
    started = time.monotonic()
    try:
        return (yield)
    finally:
        if Path(__file__).parent in item.path.parents:
            _E2E_SECONDS.append(time.monotonic() - started)


def pytest_terminal_summary(terminalreporter) -> None:
    if _E2E_SECONDS:
        terminalreporter.write_line(
            f"end-to-end deploys: {len(_E2E_SECONDS)} tests in {sum(_E2E_SECONDS):.1f} s "
            "(setup, call and teardown; the target is under 300 s)"
        )
