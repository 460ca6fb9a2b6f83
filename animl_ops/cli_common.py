"""What every animl-ops command shares: the consoles, the common options, the registry, and
expected failures as one line."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import botocore.exceptions
import typer
from rich.console import Console

from animl_ops import paths
from animl_ops.terminal import stdout_console
from model_registry.loader import Fleet, load_fleet
from model_registry.registry_files import RegistryError

THROTTLING_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException"}

out = stdout_console()
err = Console(stderr=True, soft_wrap=True)

RegistryOption = Annotated[
    Path,
    typer.Option(
        "--registry",
        envvar="ANIML_REGISTRY",
        help="the model registry folder (default: model_registry/ of this checkout)",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
LatencyRatioOption = Annotated[
    float | None,
    typer.Option(
        "--latency-ratio",
        min=0.01,
        max=10,
        help="a faster graph's latency as a share of this one's (int8.latency_ratio of "
        "conversion.json): what it saves in cost and concurrency",
    ),
]


def working(message: str) -> AbstractContextManager:
    """A spinner on a terminal; nothing in scripts, whose stderr holds only errors."""
    return err.status(message) if err.is_terminal else nullcontext()


class OpsError(Exception):
    """An expected failure: its message says what is wrong and what to do."""


def fleet_of(registry: Path) -> Fleet:
    registry = paths.existing_folder(registry, "--registry", "model files (models/*.yaml)")
    try:
        return load_fleet(registry)
    except RegistryError as error:
        raise OpsError(f"the registry is invalid:\n{error}") from error


def aws_failure(error: Exception) -> OpsError:
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return OpsError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) "
            "for the environment's account, or run `aws sso login`"
        )
    if isinstance(error, botocore.exceptions.EndpointConnectionError):
        return OpsError(f"cannot reach AWS ({error}): check the network or AWS_ENDPOINT_URL")
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            return OpsError(f"AWS throttled the call ({code}): wait a minute and run it again")
        return OpsError(f"AWS refused the call: {error}")
    return OpsError(f"AWS call failed: {error}")
