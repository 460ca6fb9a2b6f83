"""Measures animl-serve on real architectures with random weights: MegaDetector v5 (YOLOv5x6 at
1280) and a ResNet-50 crop classifier at 224.

For each model it prints the cold start (process start to the first /ping 200), p50 and p95
per-image latency over real HTTP, and the server's peak RSS; in the same run, the bare ONNX
Runtime session time on the same model and inputs (the floor) and our overhead above it. Then it
compares session settings (graph optimization level, threads, a pre-optimized graph).

    .venv/bin/python -m benchmarks.serving [--images 20] [--skip-settings]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from animl_contract.artifact import parse_artifact_config
from animl_serve import geometry
from animl_serve.backend import OnnxBackend, SessionOptions
from animl_serve.cpu import usable_cpus
from animl_serve.handlers import Limits, load_handler
from animl_serve.handlers.base import crop_and_resize, to_batch
from animl_serve.images import decode_image
from animl_serve.package import build
from benchmarks.architectures import resnet50, yolov5x6
from checkout import RUNTIME_DIR as CONTAINER_DIR

MD_LABELS = ["1", "2", "3"]
CLASSIFIER_CLASSES = [f"species {i}" for i in range(24)]
CROP_BOX = [0.3, 0.4, 0.7, 0.6]  # [ymin, xmin, ymax, xmax]


def photo(seed: int, width: int = 2048, height: int = 1536) -> bytes:
    """A camera-trap-sized JPEG with texture, gradients and a few blobs; different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [x / width * 120 + 40, y / height * 100 + 60, (x + y) / (width + height) * 80 + 50], -1
    )
    base += rng.normal(0, 18, (height, width, 3))
    for _ in range(5):
        cx, cy, r = (
            rng.integers(200, width - 200),
            rng.integers(200, height - 200),
            rng.integers(40, 200),
        )
        base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 255, 3)
    buffer = io.BytesIO()
    Image.fromarray(base.clip(0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@dataclass
class Case:
    title: str
    build_onnx: Callable[[Path], Path]
    config: dict
    content_type: str
    request: Callable[[bytes], bytes]
    tensor: Callable[[bytes, dict, tuple], np.ndarray]


def md_tensor(image_bytes: bytes, config: dict, input_shape: tuple) -> np.ndarray:
    image = decode_image(image_bytes, 100_000_000, False)
    plan = geometry.plan_letterbox(*image.size, (input_shape[2], input_shape[3]), 64, fixed=True)
    canvas = geometry.letterbox(image, plan, "cv2-linear")
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def classifier_tensor(image_bytes: bytes, config: dict, input_shape: tuple) -> np.ndarray:
    image = decode_image(image_bytes, 100_000_000, False)
    settings = parse_artifact_config(config).preprocessing.classifier
    assert settings is not None
    box = geometry.parse_bbox(CROP_BOX, "yxyx")
    return to_batch(crop_and_resize(image, box, settings), settings)


CASES = [
    Case(
        "MegaDetector v5 (YOLOv5x6, 1280x1280, 140M params)",
        yolov5x6,
        {
            "name": "megadetector-v5a",
            "version": "bench",
            "family": "detector",
            "labels": MD_LABELS,
            "preprocessing": {"detector": {"canvas": [1280, 1280], "canvas_mode": "fixed"}},
        },
        "image/jpeg",
        lambda image: image,
        md_tensor,
    ),
    Case(
        "Crop classifier (ResNet-50, 224x224, 24 classes)",
        lambda path: resnet50(path, len(CLASSIFIER_CLASSES)),
        {
            "name": "classifier",
            "version": "bench",
            "family": "crop-classifier",
            "labels": CLASSIFIER_CLASSES,
            "preprocessing": {
                "classifier": {"input_size": 224, "normalization": "imagenet", "top_k": None}
            },
        },
        "application/json",
        lambda image: json.dumps(
            {"image": base64.b64encode(image).decode(), "bbox": CROP_BOX}
        ).encode(),
        classifier_tensor,
    ),
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve_and_measure(model_dir: Path, case: Case, images: list[bytes]) -> dict:
    port = free_port()
    env = os.environ | {
        "ANIML_MODEL_DIR": str(model_dir),
        "ANIML_HOST": "127.0.0.1",
        "ANIML_PORT": str(port),
        "PYTHONPATH": str(CONTAINER_DIR),
        "ANIML_LOG_LEVEL": "warning",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "animl_serve", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                _, stderr = process.communicate()
                raise SystemExit(f"server exited: {stderr.decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        cold_start = time.perf_counter() - started
        latencies = []
        with httpx.Client(timeout=120) as client:
            for image in images:
                body = case.request(image)
                t = time.perf_counter()
                response = client.post(
                    f"{url}/invocations", content=body, headers={"content-type": case.content_type}
                )
                latencies.append(time.perf_counter() - t)
                response.raise_for_status()
        rss = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"cold_start": cold_start, "latencies": latencies, "rss": rss}


def bare_session(
    model: Path, tensors: list[np.ndarray], options: SessionOptions
) -> tuple[float, list[float]]:
    started = time.perf_counter()
    backend = OnnxBackend(model, options)
    created = time.perf_counter() - started
    backend.run(tensors[0])  # the first run allocates; the runtime's warm-up pays it too
    times = []
    for tensor in tensors:
        t = time.perf_counter()
        backend.run(tensor)
        times.append(time.perf_counter() - t)
    return created, times


def print_row(label: str, times: list[float], floor_p50: float | None, extra: str = "") -> None:
    p50, p95 = percentile(times, 50), percentile(times, 95)
    above = "" if floor_p50 is None else f"   {(p50 / floor_p50 - 1) * 100:+6.1f}% above the floor"
    print(f"  {label:30} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms{above}{extra}")


def in_process(
    model_dir: Path, case: Case, images: list[bytes], options: SessionOptions
) -> list[float]:
    """The handler alone (decode, pre-processing, inference, post-processing), no HTTP."""
    handler = load_handler(model_dir, options, Limits(max_image_pixels=100_000_000))
    times = []
    for image in images:
        body = case.request(image)
        t = time.perf_counter()
        handler.predict(body)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20, help="images per model (at least 20)")
    parser.add_argument(
        "--skip-settings", action="store_true", help="skip the session settings table"
    )
    parser.add_argument("--only", choices=["detector", "classifier"], help="measure one model only")
    args = parser.parse_args()
    cpus = usable_cpus()
    print(
        f"animl-serve benchmark: {cpus} usable CPUs, {args.images} images per model, real HTTP on loopback\n"
    )
    images = [photo(seed) for seed in range(args.images)]
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if args.only and args.only != case.config["family"].removeprefix("crop-"):
                continue
            folder = Path(tmp) / case.config["name"]
            folder.mkdir()
            onnx_path = case.build_onnx(folder / "model.onnx")
            config_path = folder / "animl-model.json"
            config_path.write_text(json.dumps(case.config))
            archive = folder / "model.tar.gz"
            t = time.perf_counter()
            build(onnx_path, config_path, archive, optimize=True)
            packaging = time.perf_counter() - t
            model_dir = folder / "extracted"
            with tarfile.open(archive) as tar:
                tar.extractall(model_dir, filter="data")

            input_shape = OnnxBackend(onnx_path, SessionOptions(1, "disable")).input_shape
            tensors = [case.tensor(image, case.config, input_shape) for image in images]
            _, floor = bare_session(
                model_dir / "model.optimized.onnx", tensors, SessionOptions(cpus)
            )
            handler = in_process(model_dir, case, images, SessionOptions(cpus))
            served = serve_and_measure(model_dir, case, images)
            floor_p50 = percentile(floor, 50)

            print(case.title)
            print(
                f"  artifact {archive.stat().st_size / 1e6:.0f} MB, packaged and validated in {packaging:.1f} s"
            )
            print(f"  cold start (process start to /ping 200): {served['cold_start']:.2f} s")
            print_row("bare ORT session (the floor)", floor, None)
            print_row("handler in-process (no HTTP)", handler, floor_p50)
            print_row(
                "served over HTTP",
                served["latencies"],
                floor_p50,
                f"   peak RSS {served['rss']:.0f} MB",
            )
            print()

            if args.skip_settings:
                continue
            print("  session settings (bare ORT, 5 images):      create s    p50 ms")
            sample = tensors[:5]
            variants = [
                ("graph 'all', threads = usable CPUs", onnx_path, SessionOptions(cpus, "all")),
                (
                    "graph 'all', pre-optimized artifact",
                    model_dir / "model.optimized.onnx",
                    SessionOptions(cpus, "all"),
                ),
                ("graph 'extended'", onnx_path, SessionOptions(cpus, "extended")),
                ("graph 'basic'", onnx_path, SessionOptions(cpus, "basic")),
                ("graph 'disable'", onnx_path, SessionOptions(cpus, "disable")),
                ("graph 'all', 1 thread", onnx_path, SessionOptions(1, "all")),
            ]
            for label, model, options in variants:
                created, times = bare_session(model, sample, options)
                print(f"    {label:40} {created:8.2f} {percentile(times, 50) * 1000:9.1f}")
            print()


if __name__ == "__main__":
    main()
