"""The runtime on a read-only root file system with a writable /tmp, as SageMaker serverless runs
it: a private mount namespace (`unshare -m`, which needs root) remounts / read-only, puts a fresh
tmpfs on /tmp and the artifact read-only on /srv, then starts the server."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from animl_ops.local_runtime import serving
from checkout import REPO_ROOT, RUNTIME_DIR
from tests.containers.conftest import b64, jpeg
from tests.containers.test_server import classifier_request, invoke

MODEL_MOUNT = "/srv"
STASH = "/mnt"
# $1: the artifact folder, $2: this checkout (its .venv runs the server); then the server's
# command line. The checkout is put back, read-only, where it was: it may live under /tmp. The
# probe proves the root is read-only.
READ_ONLY_ROOT = f"""
set -e
mount --rbind / /
mount -o remount,bind,ro /
mount --bind "$1" {MODEL_MOUNT}
mount -o remount,bind,ro {MODEL_MOUNT}
mount --bind "$2" {STASH}
mount -t tmpfs tmpfs /tmp
mkdir -p "$2"
mount --bind {STASH} "$2"
mount -o remount,bind,ro "$2"
if touch "{RUNTIME_DIR}/write-probe" 2>/dev/null; then echo "the root is writable" >&2; exit 97; fi
shift 2
exec "$@"
"""


def _can_unshare_mounts() -> bool:
    probe = ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs", "/mnt"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _can_unshare_mounts(), reason="needs a private mount namespace (root)"
)


def read_only_launcher(model_dir) -> list[str]:
    return [
        "unshare", "-m", "--propagation", "private",
        "sh", "-c", READ_ONLY_ROOT, "sh", str(model_dir), str(REPO_ROOT),
    ]  # fmt: skip


def speciesnet_request(image: bytes) -> bytes:
    body = {"image_data": b64(image), "bbox": [0, 0, 1, 1], "components": "all", "country": "USA"}
    return json.dumps(body).encode()


REQUESTS = {
    "detector": lambda photo: photo,
    "classifier": lambda photo: classifier_request(photo).encode(),
    "speciesnet": speciesnet_request,
}


@pytest.mark.parametrize("artifact", sorted(REQUESTS))
def test_the_runtime_loads_and_answers_with_only_tmp_writable(artifacts, artifact):
    body = REQUESTS[artifact](jpeg(640, 480))
    launcher = read_only_launcher(artifacts[artifact])
    with serving(MODEL_MOUNT, launcher=launcher, ANIML_MODEL_DIR=MODEL_MOUNT) as url:
        assert httpx.get(f"{url}/ping").status_code == 200
        response = invoke(url, body)
        assert response.status_code == 200, response.text
        assert response.json()
    assert not (RUNTIME_DIR / "write-probe").exists()
