"""What the stacks of an environment hold while `animl_ops migrate` takes over a hand-made fleet.

The migration writes this file and synthesizes with `-c takeover=FILE`; without it the app
synthesizes the whole registry, as after the take-over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TakeoverState:
    """endpoints: the endpoint names (<model>-<kind>) whose resources the stacks hold;
    parameters: those whose SSM parameters the stacks hold too (imported from the hand-made
    fleet)."""

    environment: str
    endpoints: frozenset[str]
    parameters: frozenset[str]

    def holds(self, endpoint: str) -> bool:
        return endpoint in self.endpoints

    def owns_parameters(self, endpoint: str) -> bool:
        return endpoint in self.parameters

    def write(self, path: Path) -> Path:
        data = {
            "environment": self.environment,
            "endpoints": sorted(self.endpoints),
            "parameters": sorted(self.parameters),
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> TakeoverState:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["environment"], frozenset(data["endpoints"]), frozenset(data["parameters"]))
