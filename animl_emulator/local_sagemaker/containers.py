"""One endpoint's container on the local Docker engine, run as SageMaker runs it: `IMAGE serve`,
non-root, read-only root file system with a tmpfs on /tmp, the artifact read-only at
/opt/ml/model, the variant's memory as its limit. Host networking on a loopback port of its own
(SAGEMAKER_BIND_TO_PORT, as SageMaker tells a container where to listen)."""

from __future__ import annotations

import contextlib
import http.client
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from animl_contract import limits
from animl_ops.local_runtime import free_port


class ContainerFailed(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """The container did not start or never answered /ping 200; the message says which."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


class EndpointContainer:
    def __init__(self, container, port: int) -> None:
        self._container = container
        self.port = port
        self.id = container.id[:12]

    @classmethod
    def start(
        cls,
        image: str,
        model_dir: Path,
        memory_mb: int,
        environment: dict[str, str],
        labels: dict[str, str],
        setup_seconds: float,
    ) -> EndpointContainer:
        engine = docker.from_env()
        port = free_port()
        try:
            engine.images.get(image)
            container = engine.containers.run(
                image,
                "serve",
                detach=True,
                network_mode="host",
                read_only=True,
                tmpfs={"/tmp": ""},  # noqa: S108 - the one writable place SageMaker gives
                mem_limit=f"{memory_mb}m",
                memswap_limit=f"{memory_mb}m",
                volumes={str(model_dir): {"bind": "/opt/ml/model", "mode": "ro"}},
                environment=environment
                | {"SAGEMAKER_BIND_TO_PORT": str(port), "ANIML_HOST": "127.0.0.1"},
                labels=labels,
            )
        except docker.errors.ImageNotFound as error:
            raise ContainerFailed(f"the image {image} is not on the local Docker engine") from error
        except docker.errors.DockerException as error:
            raise ContainerFailed(f"the container of {image} did not start: {error}") from error
        started = cls(container, port)
        started._wait_for_ping(setup_seconds)
        return started

    def _wait_for_ping(self, setup_seconds: float) -> None:
        deadline = time.monotonic() + setup_seconds
        while time.monotonic() < deadline:
            self._container.reload()
            if self._container.status == "exited":
                raise ContainerFailed(
                    f"the container exited with {self._container.attrs['State']['ExitCode']} "
                    f"before its first ping: {self.last_lines()}"
                )
            try:
                if self._request("GET", "/ping", b"", {}, timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ContainerFailed(f"/ping did not answer 200 within {setup_seconds:.0f} s")

    def _request(
        self, method: str, path: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Reply(
                response.status,
                response.read(),
                response.getheader("Content-Type") or "application/json",
            )
        finally:
            connection.close()

    def invoke(self, body: bytes, headers: dict[str, str]) -> Reply:
        """POST /invocations with the caller's Content-Type and Accept, within SageMaker's 60 s."""
        return self._request(
            "POST", "/invocations", body, headers, limits.INVOCATION_TIMEOUT_SECONDS
        )

    def running(self) -> bool:
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return False
        return self._container.status == "running"

    def last_lines(self, count: int = 20) -> str:
        try:
            return self._container.logs(tail=count).decode(errors="replace").strip()
        except docker.errors.DockerException:
            return ""

    def stop(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._container.remove(force=True)


def remove_labelled(label: str, value: str) -> int:
    """Removes every container of one emulator, however its process ended; returns how many."""
    engine = docker.from_env()
    found = engine.containers.list(all=True, filters={"label": f"{label}={value}"})
    for container in found:
        container.remove(force=True)
    return len(found)
