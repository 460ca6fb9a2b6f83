"""The animl-serve image: its size, what makes it up, and the cold start of each model family run
as SageMaker runs it (container start -> first /ping 200 -> first answer).

Builds the image with the chosen base (ANIML_BASE_IMAGE, else the Dockerfile's default), then
serves the sample artifact of MegaDetector v5a, mirav2 and SpeciesNet (SpeciesNet with the sample
release), each in a fresh container, --runs times, and prints the fastest and median.

    .venv/bin/python -m benchmarks.image [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from animl_emulator import sample_artifacts
from animl_emulator.docker_engine import base_image, build_runtime_image
from animl_ops.local_runtime import free_port
from animl_ops.mlmodel import sample_call
from checkout import REGISTRY_DIR
from model_registry.loader import load_fleet

IMAGE = "animl-serve:bench"
MODELS = {
    "detector": "megadetector-v5a",
    "crop classifier": "mirav2",
    "speciesnet": "speciesnetv401a",
}
MEMORY_MB = 6144


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def layers() -> list[tuple[int, str]]:
    found = []
    for line in docker("history", "--no-trunc", "--format", "{{json .}}", IMAGE).splitlines():
        layer = json.loads(line)
        size = int(subprocess.run(
            ["numfmt", "--from=si"], input=layer["Size"].upper().replace("B", ""),
            capture_output=True, text=True, check=True).stdout or 0)  # fmt: skip
        step = layer["CreatedBy"].replace("/bin/sh -c #(nop) ", "").strip()
        found.append((size, step[:90] or f"the base image ({base_image()})"))
    return sorted(found, reverse=True)


def packages() -> list[tuple[int, str]]:
    """The virtualenv's largest packages, in kB as du counts them."""
    listing = docker(
        "run", "--rm", "--entrypoint", "sh", IMAGE, "-c",
        "du -sk /opt/venv/lib/python3*/site-packages/* | sort -rn | head -n 6",
    )  # fmt: skip
    rows = (line.split("\t") for line in listing.splitlines())
    return [(int(kb) * 1000, Path(path).name) for kb, path in rows]


def cold_start(model_dir: Path, body: bytes, content_type: str | None) -> tuple[float, float]:
    """Seconds from `docker run` to the first /ping 200, and to the first answer."""
    port = free_port()
    started = time.monotonic()
    tmpfs = "/tmp"  # noqa: S108 - the one writable place SageMaker gives the container
    container = docker(
        "run", "-d", "--network", "host", "--read-only", "--tmpfs", tmpfs, "--memory",
        f"{MEMORY_MB}m", "-v", f"{model_dir}:/opt/ml/model:ro", "-e",
        f"SAGEMAKER_BIND_TO_PORT={port}", "-e", "ANIML_HOST=127.0.0.1", IMAGE, "serve",
    ).strip()  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        pinged = time.monotonic() - started
        headers = {"Content-Type": content_type} if content_type else {}
        answer = httpx.post(f"{url}/invocations", content=body, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        return pinged, time.monotonic() - started
    finally:
        docker("rm", "-f", container)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    started = time.monotonic()
    build_runtime_image(IMAGE)
    print(f"image {IMAGE} on {base_image()}: built in {time.monotonic() - started:.0f} s "
          f"(cached layers reused), {int(docker('image', 'inspect', '--format', '{{.Size}}', IMAGE)) / 1e6:.0f} MB")  # fmt: skip
    print("largest layers:")
    for size, step in layers()[:4]:
        print(f"  {size / 1e6:7.1f} MB  {step}")
    print("largest packages in /opt/venv:")
    for size, name in packages():
        print(f"  {size / 1e6:7.1f} MB  {name}")
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        registry = sample_artifacts.sample_registry(REGISTRY_DIR, work / "registry")
        fleet = load_fleet(registry)
        built = sample_artifacts.build(registry, list(MODELS.values()), "us-west-2", work / "a")
        print(f"cold start at {MEMORY_MB} MB, fastest / median of {args.runs} (sample artifacts):")
        print(f"  {'family':16} {'to /ping 200':>14} {'to first answer':>16}")
        for family, name in MODELS.items():
            model = fleet.model(name)
            model_dir = work / name / "model"
            with tarfile.open(built.archives[model.artifact_for("us-west-2")]) as tar:
                tar.extractall(model_dir, filter="data")
            for path in [model_dir, *model_dir.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            call = sample_call(model, model.records[0], is_batch=True)
            runs = [cold_start(model_dir, call.body, call.content_type) for _ in range(args.runs)]
            ping, answer = zip(*runs, strict=True)
            print(f"  {family:16} {min(ping):6.2f} / {statistics.median(ping):4.2f} s "
                  f"{min(answer):7.2f} / {statistics.median(answer):4.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
