"""The CDK CLI (`npx cdk`, pinned in package.json) as the ops CLI runs it: synthesize the
registry and read the assembly's templates."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600


class CdkCommandError(RuntimeError):
    """A CDK command failed; the message ends with its output."""


@dataclass(frozen=True)
class Assembly:
    directory: Path

    def template(self, stack: str) -> dict:
        manifest = json.loads((self.directory / "manifest.json").read_text())
        artifact = manifest["artifacts"].get(stack)
        if artifact is None or artifact["type"] != "aws:cloudformation:stack":
            raise CdkCommandError(f"the assembly in {self.directory} has no stack {stack}")
        return json.loads((self.directory / artifact["properties"]["templateFile"]).read_text())

    def stacks(self) -> list[str]:
        manifest = json.loads((self.directory / "manifest.json").read_text())
        return sorted(
            name
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        )


@dataclass(frozen=True)
class CdkRunner:
    registry: Path
    workdir: Path

    def _run(self, *args: str) -> str:
        env = os.environ | {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        command = ["npx", "--no-install", "cdk", *args]
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
        if result.returncode != 0:
            raise CdkCommandError(
                f"`{' '.join(command)}` exited with {result.returncode}:\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
        return result.stdout + result.stderr

    def synth(self, label: str) -> Assembly:
        out = self.workdir / f"cdk.out.{label}"
        self._run(
            "synth", "--quiet", "--output", str(out), "--context", f"registry={self.registry}"
        )
        return Assembly(out)
