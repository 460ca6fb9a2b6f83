"""End-to-end fixtures: an emulator per test, the real CDK CLI, and the registry read back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from animl_emulator.cdk_cli import cdk_synth
from animl_emulator.deployment import Deployment, deploy_environment
from animl_emulator.emulator import Account, Emulator
from tests.registries import FIXTURE_REGISTRY, RegistryCopy


@pytest.fixture(scope="session")
def registry_assembly(tmp_path_factory) -> Path:
    """The fixture registry, synthesized once for every test that starts from it."""
    outdir = tmp_path_factory.mktemp("e2e") / "cdk.out"
    result = cdk_synth(outdir, f"registry={FIXTURE_REGISTRY}")
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
    """The Animl environment of `registry` deployed into its account of environments.yaml."""
    return deploy_environment(
        emulator, registry.root, "animl", animl_account, tmp_path, registry_assembly
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
            "(setup, call and teardown; the target is under 450 s)"
        )
