"""The real CDK CLI (`npx cdk`) pointed at the emulator, its image assets published through
`docker_standin` (built on the real engine when the emulator runs a local SageMaker)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from animl_emulator.docker_standin import ENGINE_VARIABLE
from animl_emulator.emulator import Account, Emulator
from checkout import REPO_ROOT, with_pinned_node

DOCKER_STANDIN = Path(__file__).with_name("docker_standin.py")
COMMAND_TIMEOUT_S = 300


def cdk_synth(outdir: Path, *context: str) -> subprocess.CompletedProcess[str]:
    """`npx cdk synth` as an ops engineer runs it, with AWS credentials and endpoints unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = with_pinned_node(env) | {"AWS_EC2_METADATA_DISABLED": "true"}
    args = ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", str(outdir)]
    for item in context:
        args += ["--context", item]
    return subprocess.run(
        args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    )


class CdkCommandError(AssertionError):
    def __init__(self, args: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"`{' '.join(args)}` exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
        self.result = result


class CdkCli:
    """`npx cdk` as an ops engineer runs it, acting in one emulated account and region."""

    def __init__(self, emulator: Emulator, account: Account, region: str, workdir: Path) -> None:
        self.account = account
        self.region = region
        self.docker_log = workdir / "docker-calls.jsonl"
        self.env = with_pinned_node(emulator.env(account, region)) | {
            "CDK_DOCKER": str(DOCKER_STANDIN),
            "DOCKER_STANDIN_LOG": str(self.docker_log),
            ENGINE_VARIABLE: "1" if emulator.local_sagemaker else "0",
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = ["npx", "--no-install", "cdk", *args]
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        if check and result.returncode != 0:
            raise CdkCommandError(command, result)
        return result

    def synth(self, outdir: Path, registry: Path | None = None) -> Path:
        """Synthesizes once; the other commands read this assembly instead of synthesizing again."""
        context = ["--context", f"registry={registry}"] if registry else []
        self.run("synth", "--quiet", "--output", str(outdir), *context)
        return outdir

    def bootstrap(self, assembly: Path) -> None:
        self.run(
            "bootstrap", "--app", str(assembly), f"aws://{self.account.account_id}/{self.region}"
        )

    def deploy(self, assembly: Path, *stacks: str, check: bool = True):
        # One stack at a time: with --concurrency the emulator leaves stacks in
        # REVIEW_IN_PROGRESS while the CLI reports success.
        return self.run(
            "deploy", "--app", str(assembly), "--require-approval", "never", *stacks, check=check
        )

    def diff(self, assembly: Path, *stacks: str) -> str:
        # A template diff: the emulator's change sets carry no property details, and the CLI's
        # default change-set diff would then report "There were no differences".
        result = self.run("diff", "--app", str(assembly), "--method=template", *stacks)
        return result.stdout + result.stderr

    def destroy(self, assembly: Path, *stacks: str) -> None:
        self.run("destroy", "--app", str(assembly), "--force", *stacks)

    def docker_calls(self) -> list[dict]:
        if not self.docker_log.exists():
            return []
        return [json.loads(line) for line in self.docker_log.read_text().splitlines()]
