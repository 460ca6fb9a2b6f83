"""Build, run and probe the real image. Needs a Docker engine; this project's machines have only
the client, so here the test skips and says why."""

from __future__ import annotations

import time

import httpx
import pytest

from animl_ops.local_runtime import free_port
from tests.containers.conftest import CONTAINER_DIR, jpeg

docker = pytest.importorskip("docker")


@pytest.fixture(scope="module")
def engine():
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.skip(f"no Docker engine to build and run the image ({exc.__class__.__name__})")
    return client


def test_image_serves_a_mounted_artifact_as_non_root(engine, artifacts):
    image, _ = engine.images.build(path=str(CONTAINER_DIR), tag="animl-serve:test", rm=True)
    assert image.attrs["Config"]["User"] == "1000"
    port = free_port()
    container = engine.containers.run(
        "animl-serve:test",
        "serve",
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
        volumes={str(artifacts["detector"]): {"bind": "/opt/ml/model", "mode": "ro"}},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        response = httpx.post(f"{url}/invocations", content=jpeg(2048, 1536), timeout=60)
        assert response.status_code == 200, container.logs().decode()
        assert response.json()[0]["class"] == 1
    finally:
        container.remove(force=True)
