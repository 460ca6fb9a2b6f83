from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from animl_emulator.emulator import Account, Emulator, running_emulator
from checkout import with_pinned_node
from tests import docker_engine
from tests.registries import ANIML_ACCOUNT, FIXTURE_REGISTRY, RegistryCopy

# The CDK app synthesized in-process starts its jsii Node.js from PATH.
os.environ["PATH"] = with_pinned_node(os.environ)["PATH"]


@pytest.fixture
def registry(tmp_path: Path) -> RegistryCopy:
    """A writable copy of the fixture registry."""
    root = tmp_path / "model_registry"
    shutil.copytree(FIXTURE_REGISTRY, root)
    return RegistryCopy(root)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A local AWS API emulator on a free port, stopped after the test (also on failure)."""
    with running_emulator(tmp_path) as running:
        yield running


@pytest.fixture
def animl_account(emulator: Emulator) -> Account:
    """Credentials the emulator treats as the Animl account of the fixture registry."""
    return emulator.account(ANIML_ACCOUNT)


@pytest.fixture(scope="session")
def runtime_image() -> str:
    """containers/animl-serve built on the Docker engine, once per run."""
    return docker_engine.runtime_image()


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "runtime_image" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
