"""A local AWS API emulator (moto server) on a free localhost port, and the accounts inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from animl_emulator.local_sagemaker.settings import (
    CONTAINER_LABEL,
    DEFAULT_IDLE_SECONDS,
    LocalSageMakerSettings,
)
from animl_ops.local_runtime import free_port, stop
from checkout import REPO_ROOT

# moto's own default account: plain test credentials act in it.
DEFAULT_ACCOUNT = "123456789012"
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class Account:
    """Credentials that the emulator treats as one account's."""

    account_id: str
    env: dict[str, str]


@dataclass(frozen=True)
class Emulator:
    # localhost, not 127.0.0.1: with an IP address moto cannot read CloudFormation template URLs.
    url: str
    log: Path
    #: InvokeEndpoint runs each endpoint's container, and image assets are built for real.
    local_sagemaker: LocalSageMakerSettings | None = None

    def env(self, account: Account, region: str) -> dict[str, str]:
        """A process environment that sends every AWS call of `account` to the emulator."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return (
            inherited
            | account.env
            | {
                "AWS_ENDPOINT_URL": self.url,
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )

    def session(self, account: Account, region: str) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=account.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=account.env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=account.env.get("AWS_SESSION_TOKEN"),
            region_name=region,
        )

    def client(self, service: str, account: Account, region: str):
        return self.session(account, region).client(service, endpoint_url=self.url)

    @property
    def default_account(self) -> Account:
        return Account(DEFAULT_ACCOUNT, dict(TEST_CREDENTIALS))

    def account(self, account_id: str) -> Account:
        """Credentials for `account_id`: moto's own account as it is, any other through STS."""
        if account_id == DEFAULT_ACCOUNT:
            return self.default_account
        return self.assume_account(account_id)

    def assume_account(
        self, account_id: str, role: str = "OrganizationAccountAccessRole"
    ) -> Account:
        """Credentials for another account: STS AssumeRole on a role ARN in that account id."""
        sts = self.client("sts", self.default_account, "us-east-1")
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="animl-onboarding"
        )["Credentials"]
        return Account(
            account_id,
            {
                "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"],
            },
        )


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the emulator did not answer within {START_TIMEOUT_S} s; see {log}")


@contextmanager
def running_emulator(
    workdir: Path,
    plain: bool = False,
    local_sagemaker: bool = False,
    idle_seconds: float = DEFAULT_IDLE_SECONDS,
    setup_seconds: float | None = None,
) -> Iterator[Emulator]:
    """Starts the patched moto server (or plain moto) on a free port and stops it on exit, also
    when the body fails. local_sagemaker: endpoints run their containers on the Docker engine
    (see `local_sagemaker`), every one of which is removed on exit."""
    port = free_port("localhost")
    log = workdir / ("moto.log" if plain else "emulator.log")
    command = [sys.executable, "-m", "animl_emulator.server", "-H", "localhost", "-p", str(port)]
    settings = None
    env = dict(os.environ)
    if local_sagemaker:
        settings = LocalSageMakerSettings(
            label=uuid.uuid4().hex[:12],
            workdir=workdir / "local-sagemaker",
            idle_seconds=idle_seconds,
            **({"setup_seconds": setup_seconds} if setup_seconds else {}),
        )
        settings.workdir.mkdir(parents=True, exist_ok=True)
        env |= settings.environment()
    with log.open("w") as output:
        process = subprocess.Popen(
            command + (["--plain"] if plain else []),
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://localhost:{port}"
        _wait_until_ready(url, process, log)
        yield Emulator(url, log, settings)
    finally:
        stop(process)
        if settings is not None:
            from animl_emulator.local_sagemaker.containers import remove_labelled

            remove_labelled(CONTAINER_LABEL, settings.label)
