"""The real image, run as SageMaker runs it (`IMAGE serve` on port 8080's stand-in, non-root,
read-only root with a tmpfs on /tmp, the artifact read-only at /opt/ml/model, the endpoint's
memory as its limit), answers as the same artifact served by the plain process."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from animl_emulator.local_sagemaker.containers import EndpointContainer
from tests.containers.conftest import b64, jpeg, serving

MEMORY_MB = 2048
LABEL = {"animl-test": "docker-image"}


def requests(family: str) -> list[tuple[bytes, str | None]]:
    """Bodies the Animl API sends the family, with their Content-Type."""
    red, green = jpeg(2048, 1536), jpeg(640, 480, (20, 200, 30))
    if family == "detector":
        return [(red, None), (green, "image/jpeg")]
    if family == "classifier":
        return [
            (json.dumps({"image": b64(image), "bbox": box}).encode(), None)
            for image, box in ((red, [0, 0, 1, 1]), (green, [0.1, 0.2, 0.6, 0.9]))
        ]
    return [
        (json.dumps({"image_data": b64(red), "bbox": [0, 0, 1, 1], "components": c}).encode(),
         "application/json")
        for c in ("classifier", "all")
    ]  # fmt: skip


@pytest.fixture
def container(runtime_image, artifacts) -> Iterator[Callable[[Path], EndpointContainer]]:
    started: list[EndpointContainer] = []

    def start(model_dir: Path) -> EndpointContainer:
        started.append(EndpointContainer.start(runtime_image, model_dir, MEMORY_MB, {}, LABEL, 180))
        return started[-1]

    yield start
    for c in started:
        c.stop()


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("family", ["detector", "classifier", "speciesnet"])
def test_the_image_answers_as_the_plain_process(family, container, artifacts):
    served = container(artifacts[family])
    in_container = [served.invoke(body, _headers(ct)) for body, ct in requests(family)]
    with serving(artifacts[family]) as url:
        plain = [
            httpx.post(f"{url}/invocations", content=body, headers=_headers(ct), timeout=60)
            for body, ct in requests(family)
        ]
    for ours, theirs in zip(in_container, plain, strict=True):
        assert ours.status == theirs.status_code == 200, ours.body
        assert json.loads(ours.body) == theirs.json()


def _headers(content_type: str | None) -> dict[str, str]:
    return {"Content-Type": content_type} if content_type else {}


def test_it_runs_as_sagemaker_runs_it(container, artifacts):
    served = container(artifacts["classifier"])
    (found,) = json.loads(_docker("inspect", served.id).stdout)
    assert found["Config"]["User"] == "1000"
    assert found["Config"]["Cmd"] == ["serve"]
    assert found["HostConfig"]["ReadonlyRootfs"] is True
    assert found["HostConfig"]["Memory"] == MEMORY_MB * 1024 * 1024
    assert {m["Destination"]: m["RW"] for m in found["Mounts"]} == {"/opt/ml/model": False}
    assert _docker("exec", served.id, "id", "-u").stdout.strip() == "1000"
    probe = "open('{}/probe', 'w').write('x')"
    assert _docker("exec", served.id, "python", "-c", probe.format("/opt")).returncode != 0
    assert _docker("exec", served.id, "python", "-c", probe.format("/opt/ml/model")).returncode != 0
    assert _docker("exec", served.id, "python", "-c", probe.format("/tmp")).returncode == 0
