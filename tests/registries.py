"""The registries the tests read.

Tests read the frozen fixture registry under tests/fixtures/registry, so that adding, removing or
changing a production model breaks none of them. Three kinds of test read production on purpose:
`test_app.py::test_endpoint_logical_ids_are_stable` (pins the production logical ids; `make
logical-ids` rewrites the pin when a change is intended), and the fidelity tests of tests/contract,
tests/parity and tests/speciesnet, which check every production model against the real Animl code
and the `speciesnet` package, whatever models there are.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

from checkout import REGISTRY_DIR, REPO_ROOT
from model_registry.loader import Fleet, load_fleet

FIXTURE_REGISTRY = REPO_ROOT / "tests" / "fixtures" / "registry"
PRODUCTION_REGISTRY = REGISTRY_DIR


@cache
def fixture_fleet() -> Fleet:
    return load_fleet(FIXTURE_REGISTRY)


#: The Animl environment's account in the fixture's environments.yaml, whatever id it holds.
ANIML_ACCOUNT = next(e.account for e in fixture_fleet().environments if e.name == "animl")


class RegistryCopy:
    """A writable copy of a registry, for tests that break or grow it."""

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
