from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from model_registry.loader import DEFAULT_REGISTRY_DIR, load_fleet
from tests.e2e.emulator import Account, Emulator, running_emulator

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent


def cdk_synth(outdir: Path, *context: str) -> subprocess.CompletedProcess[str]:
    """`npx cdk synth` as an ops engineer runs it, with AWS credentials and endpoints unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    args = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    for item in context:
        args += ["--context", item]
    return subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


class RegistryCopy:
    """A writable copy of the real registry, for tests that break or grow it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.models = root / "models"

    def model(self, name: str) -> dict:
        return yaml.safe_load((self.models / f"{name}.yaml").read_text())

    def write_model(self, name: str, data: dict, file_name: str | None = None) -> Path:
        path = self.models / (file_name or f"{name}.yaml")
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def edit_model(self, name: str, edit: Callable[[dict], None]) -> Path:
        data = self.model(name)
        edit(data)
        return self.write_model(name, data)

    def environments(self) -> dict:
        return yaml.safe_load((self.root / "environments.yaml").read_text())

    def write_environments(self, data: dict) -> None:
        (self.root / "environments.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def registry(tmp_path: Path) -> RegistryCopy:
    root = tmp_path / "model_registry"
    shutil.copytree(
        DEFAULT_REGISTRY_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )
    return RegistryCopy(root)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A local AWS API emulator on a free port, stopped after the test (also on failure)."""
    with running_emulator(tmp_path) as running:
        yield running


#: The Animl environment's account in environments.yaml, whatever id it holds.
ANIML_ACCOUNT = next(e.account for e in load_fleet().environments if e.name == "animl")


@pytest.fixture
def animl_account(emulator: Emulator) -> Account:
    """Credentials the emulator treats as the Animl account of environments.yaml."""
    return emulator.account(ANIML_ACCOUNT)
