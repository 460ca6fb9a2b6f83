"""The CDK CLI (`npx cdk`, pinned in package.json) as the ops CLI runs it: synthesize the
registry and read the assembly's templates."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from checkout import REPO_ROOT, with_pinned_node

TIMEOUT_S = 600


class CdkCommandError(RuntimeError):
    """A CDK command failed; the message ends with its output."""


@dataclass(frozen=True)
class Assembly:
    directory: Path

    def _artifacts(self) -> dict[str, dict]:
        return json.loads((self.directory / "manifest.json").read_text())["artifacts"]

    def template(self, stack: str) -> dict:
        artifact = self._artifacts().get(stack)
        if artifact is None or artifact["type"] != "aws:cloudformation:stack":
            raise CdkCommandError(f"the assembly in {self.directory} has no stack {stack}")
        return json.loads((self.directory / artifact["properties"]["templateFile"]).read_text())

    def file_assets_bucket(self, stack: str) -> str:
        """The bootstrap bucket the stack's template is published to, from the assets manifest
        the app's synthesizer wrote (its qualifier is the app's setting, not a constant here)."""
        assets = self._artifacts().get(f"{stack}.assets")
        if assets is None:
            raise CdkCommandError(f"the assembly in {self.directory} has no assets of {stack}")
        files = json.loads((self.directory / assets["properties"]["file"]).read_text())["files"]
        template = f"{stack}.template.json"
        for asset in files.values():
            if asset["source"].get("path") == template:
                return next(iter(asset["destinations"].values()))["bucketName"]
        raise CdkCommandError(f"the assets of {stack} do not publish its template")

    def stacks(self) -> list[str]:
        return sorted(
            name
            for name, artifact in self._artifacts().items()
            if artifact["type"] == "aws:cloudformation:stack"
        )


@dataclass(frozen=True)
class CdkRunner:
    registry: Path
    workdir: Path

    def _run(self, *args: str) -> str:
        env = with_pinned_node(os.environ)
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
