"""The local Docker engine, and the animl-serve image built on it as `cdk deploy` builds it.

Whether an engine answers, which base image the build uses (ANIML_BASE_IMAGE, else the
Dockerfile's default), and why a build cannot start, each said in one line for people and tests.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from animl_emulator.docker_standin import BASE_IMAGE_VARIABLE
from checkout import RUNTIME_DIR

#: What `make base-image` builds from Debian packages where the default base cannot be pulled.
DEBIAN_BASE_IMAGE = "animl-serve-base:bookworm"
BUILD_TIMEOUT_S = 900


class ImageUnavailable(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """No engine, or no base image to build on; the message says what to do, in one line."""


def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def default_base_image(dockerfile: Path = RUNTIME_DIR / "Dockerfile") -> str:
    match = re.search(r"^ARG BASE_IMAGE=(\S+)", dockerfile.read_text(), re.MULTILINE)
    assert match, f"{dockerfile} declares no default BASE_IMAGE"
    return match.group(1)


def base_image() -> str:
    return os.environ.get(BASE_IMAGE_VARIABLE) or default_base_image()


def engine_problem() -> str | None:
    """None when a Docker engine answers; else why not, in one line."""
    try:
        result = _docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except FileNotFoundError:
        return "no docker CLI on PATH (apt-get install docker.io)"
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no answer"
        return f"no Docker engine answers ({reason})"
    return None


def ensure_base_image() -> str:
    """The base image, pulled if it is not local yet; ImageUnavailable if neither works."""
    if problem := engine_problem():
        raise ImageUnavailable(problem)
    base = base_image()
    if _docker("image", "inspect", base).returncode == 0:
        return base
    pulled = _docker("pull", base, timeout=600)
    if pulled.returncode != 0:
        reason = pulled.stderr.strip().splitlines()[-1] if pulled.stderr.strip() else "failed"
        raise ImageUnavailable(
            f"cannot pull the base image {base} ({reason}); build one from Debian packages "
            f"with `make base-image` and set {BASE_IMAGE_VARIABLE}={DEBIAN_BASE_IMAGE}"
        )
    return base


def build_runtime_image(tag: str) -> str:
    """Builds containers/animl-serve as `tag` (host networking, the chosen base); returns the tag.
    ImageUnavailable names the failing step."""
    base = ensure_base_image()
    result = _docker(
        "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "--tag", tag,
        str(RUNTIME_DIR), timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    if result.returncode != 0:
        steps = [line for line in result.stdout.splitlines() if line.startswith("Step ")]
        raise ImageUnavailable(
            f"docker build of {RUNTIME_DIR} failed at {steps[-1] if steps else 'its start'}: "
            f"{result.stderr.strip()[-500:]}"
        )
    return tag
