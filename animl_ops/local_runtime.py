"""The container runtime (animl-serve) as a plain process on loopback, as the SageMaker would run it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from checkout import RUNTIME_DIR

START_TIMEOUT_S = 60


class LocalRuntimeError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def runtime_env(model_dir: Path, port: int, **extra_env: str) -> dict[str, str]:
    return os.environ | {
        "ANIML_MODEL_DIR": str(model_dir),
        "ANIML_HOST": "127.0.0.1",
        "ANIML_PORT": str(port),
        "PYTHONPATH": str(RUNTIME_DIR),
        **extra_env,
    }


def _pinged(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def serving(model_dir: Path, *, launcher: Sequence[str] = (), **extra_env: str) -> Iterator[str]:
    """`python -m animl_serve serve` on a free loopback port; yields its URL once /ping is 200.
    launcher: a command that runs the server's command line given as its last arguments."""
    port = free_port()
    process = subprocess.Popen(
        [*launcher, sys.executable, "-m", "animl_serve", "serve"],
        env=runtime_env(model_dir, port, **extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _pinged(url):
            if process.poll() is not None:
                output = process.stdout.read().strip() if process.stdout else ""
                raise LocalRuntimeError(f"the runtime exited with {process.returncode}: {output}")
            if time.monotonic() > deadline:
                raise LocalRuntimeError(f"/ping did not answer 200 within {START_TIMEOUT_S} s")
            time.sleep(0.05)
        yield url
    finally:
        stop(process)
        if process.stdout:
            process.stdout.close()


@contextmanager
def serving_archive(archive: Path) -> Iterator[str]:
    """Extracts model.tar.gz as SageMaker does into /opt/ml/model, then serves it."""
    with tempfile.TemporaryDirectory(prefix="animl-model-") as model_dir:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(model_dir, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise LocalRuntimeError(f"{archive} is not a readable model.tar.gz: {error}") from error
        with serving(Path(model_dir)) as url:
            yield url


def invoke(url: str, body: bytes, content_type: str | None) -> tuple[int, bytes]:
    """POST /invocations; no Content-Type header when content_type is None, as the Animl API
    calls most endpoints (urllib would add a form encoding of its own)."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=60)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
