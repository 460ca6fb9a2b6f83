"""Throughput of one animl-serve container with many requests in flight, as SageMaker sends them
to an instance-backed endpoint (serverless sends one at a time to each container).

For MegaDetector v5 (YOLOv5x6 at 1280) and a ResNet-50 crop classifier, both with random
weights, the server runs pinned to 1, 2, ... cores (an instance size stand-in, `taskset`) in each
serving setting: requests queued for one inference at a time using every core (the serverless
default), one inference per core with one thread each, and one inference per core with every
core's threads. At 1, 2 and 4 times the cores in flight it prints images/s and the p95 latency.

    .venv/bin/python -m benchmarks.instance_serving [--rounds 3] [--only detector|classifier]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from animl_serve.package import build
from benchmarks.serving import CASES, Case, free_port, photo
from checkout import RUNTIME_DIR

IN_FLIGHT_PER_CORE = (1, 2, 4)


@dataclass(frozen=True)
class Setting:
    label: str
    workers: str  # "1" or "cores"
    threads: str

    def env(self, cores: int) -> dict[str, str]:
        value = {"1": 1, "cores": cores}
        return {
            "ANIML_INFERENCE_WORKERS": str(value[self.workers]),
            "ANIML_INTRA_OP_THREADS": str(value[self.threads]),
        }


SETTINGS = (
    Setting("1 inference at a time, all cores' threads", "1", "cores"),
    Setting("1 inference per core, 1 thread each", "cores", "1"),
    Setting("1 inference per core, all cores' threads", "cores", "cores"),
)


def _serve(model_dir: Path, cores: int, setting: Setting) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | setting.env(cores) | {
        "ANIML_MODEL_DIR": str(model_dir),
        "ANIML_HOST": "127.0.0.1",
        "ANIML_PORT": str(port),
        "PYTHONPATH": str(RUNTIME_DIR),
        "ANIML_LOG_LEVEL": "warning",
    }  # fmt: skip
    command = ["taskset", "-c", f"0-{cores - 1}", sys.executable, "-m", "animl_serve", "serve"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.communicate()[1].decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.05)


def _load(url: str, case: Case, bodies: list[bytes], in_flight: int) -> tuple[float, float]:
    """images/s and p95 latency (s) with `in_flight` requests always outstanding."""

    def call(body: bytes) -> float:
        started = time.perf_counter()
        response = httpx.post(f"{url}/invocations", content=body, timeout=600,
                              headers={"content-type": case.content_type})  # fmt: skip
        response.raise_for_status()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        latencies = list(pool.map(call, bodies))
    return len(bodies) / (time.perf_counter() - started), float(np.percentile(latencies, 95))


def _model_dir(case: Case, folder: Path) -> Path:
    folder.mkdir()
    onnx = case.build_onnx(folder / "model.onnx")
    config = folder / "animl-model.json"
    config.write_text(json.dumps(case.config))
    build(onnx, config, folder / "model.tar.gz", optimize=True)
    with tarfile.open(folder / "model.tar.gz") as tar:
        tar.extractall(folder / "extracted", filter="data")
    return folder / "extracted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="requests per slot in flight")
    parser.add_argument("--only", choices=["detector", "classifier"])
    args = parser.parse_args()
    machine = len(os.sched_getaffinity(0))
    core_counts = [c for c in (1, 2, 4, 8) if c <= machine]
    print(f"instance serving: {machine} cores here; sizes {core_counts} cores (taskset)\n")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if args.only and args.only != case.config["family"].removeprefix("crop-"):
                continue
            model_dir = _model_dir(case, Path(tmp) / case.config["name"])
            most = max(IN_FLIGHT_PER_CORE) * max(core_counts) * args.rounds
            bodies = [case.request(photo(seed)) for seed in range(most)]
            print(case.title)
            header = "".join(f"{f'{n}x cores':>18}" for n in IN_FLIGHT_PER_CORE)
            print(f"  {'cores':>5}  {'setting':44}{header}   (images/s, p95 s)")
            for cores in core_counts:
                for setting in SETTINGS:
                    if setting.workers == "cores" and cores == 1 and setting.threads == "cores":
                        continue  # the same as the first setting on one core
                    process, url = _serve(model_dir, cores, setting)
                    try:
                        _load(url, case, bodies[:1], 1)  # warm
                        cells = []
                        for per_core in IN_FLIGHT_PER_CORE:
                            in_flight = per_core * cores
                            sent = bodies[: in_flight * args.rounds]
                            rate, p95 = _load(url, case, sent, in_flight)
                            cells.append(f"{rate:9.2f} {p95:7.2f}s")
                    finally:
                        process.terminate()
                        process.wait(timeout=30)
                    print(f"  {cores:>5}  {setting.label:44}{''.join(f'{c:>18}' for c in cells)}")
            print()


if __name__ == "__main__":
    main()
