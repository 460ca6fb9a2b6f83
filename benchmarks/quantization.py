"""Prints FP32 against calibrated INT8 (static QDQ, per-channel weights, the converter's own
quantization) for MegaDetector v5's YOLOv5x6 at 1280 x 1280, a ResNet-50 classifier (the graphs
of architectures.py), and mirav2's EfficientNet-B3 and DeepFaune's ViT (torch_architectures.py,
exported by the converter), random weights: the speed only: latency, peak memory and cold start,
each graph in a fresh process with the runtime's ONNX Runtime settings, then what the speed-up
means for serverless cost and concurrency.

    .venv/bin/python -m benchmarks.quantization [--runs N]      # make bench-int8
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from animl_contract.preprocessing import Preprocessing
from animl_convert.inputs import synthetic_images
from animl_convert.quantize import quantize_int8
from animl_convert.sources import torchscript_source
from animl_ops import cost
from benchmarks.architectures import resnet50, yolov5x6
from benchmarks.torch_architectures import Vit, efficientnet

#: Targets on this machine (issue 14): INT8 latency as a share of FP32's.
TARGETS = {"MegaDetector v5 (YOLOv5x6, 1280x1280)": 0.4, "ResNet-50 classifier (224x224)": 0.75}
IMAGES_PER_MONTH = 1_000_000


@dataclass(frozen=True)
class Case:
    name: str
    pre: Preprocessing
    calibration_images: int
    build: Callable[[Path], Path]


def _classifier(size: int) -> Preprocessing:
    return Preprocessing.model_validate(
        {"classifier": {"input_size": [size, size], "normalization": "imagenet"}}
    )


def _torch(build: Callable[[], Any], size: int) -> Callable[[Path], Path]:
    """A torch architecture, traced or scripted as Animl ships it, exported by the converter."""

    def write(path: Path) -> Path:
        torchscript_source(build()).export(path, np.zeros((1, 3, size, size), np.float32))
        return path

    return write


def _efficientnet_b3() -> Any:
    import torch

    return torch.jit.trace(efficientnet(5, 1.2, 1.4), torch.rand(1, 3, 300, 300))


def _vit_s() -> Any:
    import torch

    return torch.jit.script(Vit(24).eval())


CASES = (
    Case("MegaDetector v5 (YOLOv5x6, 1280x1280)",
         Preprocessing.model_validate({"detector": {"canvas": [1280, 1280]}}), 4, yolov5x6),
    Case("ResNet-50 classifier (224x224)", _classifier(224), 16,
         lambda path: resnet50(path, classes=53)),
    Case("EfficientNet-B3 traced (mirav2, 300x300)", _classifier(300), 16,
         _torch(_efficientnet_b3, 300)),
    Case("ViT-S/16 scripted (DeepFaune, 224x224)", _classifier(224), 16, _torch(_vit_s, 224)),
)  # fmt: skip


def measure(graph: Path, shape: list[int], runs: int) -> dict[str, float]:
    """In this (fresh) process: cold start (load + first inference), median latency of one
    image, peak resident memory."""
    from animl_serve.backend import OnnxBackend, SessionOptions
    from animl_serve.cpu import usable_cpus

    batch = np.random.default_rng(0).random(shape, dtype=np.float32)
    start = time.perf_counter()
    backend = OnnxBackend(graph, SessionOptions(intra_op_threads=usable_cpus()))
    backend.run(batch)
    cold = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        backend.run(batch)
        times.append(time.perf_counter() - start)
    return {"cold_start_s": cold, "latency_s": statistics.median(times), "peak_mb": _peak_mb()}


def _peak_mb() -> float:
    """This process's resident high-water mark (VmHWM: unlike ru_maxrss, it starts afresh at exec,
    not at the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measured(graph: Path, shape: tuple[int, ...], runs: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", str(graph), "--shape",
               ",".join(map(str, shape)), "--runs", str(runs)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed inferences per graph")
    parser.add_argument("--only", help="the cases whose name holds this text")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, [int(d) for d in args.shape.split(",")], args.runs)))
        return

    prices = cost.load_prices()
    print(f"{'model':38} {'graph':5} {'MB':>6} {'latency s':>10} {'x fp32':>7} "
          f"{'peak MB':>8} {'cold start s':>13}")  # fmt: skip
    for case in [c for c in CASES if not args.only or args.only in c.name]:
        with tempfile.TemporaryDirectory() as work:
            fp32, int8 = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
            example = synthetic_images(case.pre, count=1)
            case.build(fp32)
            calibration = synthetic_images(case.pre, count=case.calibration_images, seed=1)
            quantize_int8(fp32, int8, calibration, per_channel=True)
            shape = example.shape
            results = {
                p: measured(g, shape, args.runs) for p, g in (("fp32", fp32), ("int8", int8))
            }
            for precision, graph in (("fp32", fp32), ("int8", int8)):
                r = results[precision]
                ratio = r["latency_s"] / results["fp32"]["latency_s"]
                print(f"{case.name:38} {precision:5} {graph.stat().st_size / 1e6:6.0f} "
                      f"{r['latency_s']:10.3f} {ratio:7.2f} {r['peak_mb']:8.0f} "
                      f"{r['cold_start_s']:13.2f}")  # fmt: skip
        ratio = results["int8"]["latency_s"] / results["fp32"]["latency_s"]
        target = TARGETS.get(case.name)
        verdict = (
            "no target"
            if target is None
            else f"target int8 <= {target}x fp32 {'met' if ratio <= target else 'NOT met'}"
        )
        cold = (
            "not worse"
            if results["int8"]["cold_start_s"] <= results["fp32"]["cold_start_s"]
            else "WORSE"
        )
        print(f"  {verdict}; cold start {cold} than fp32")
        fp32_s = results["fp32"]["latency_s"]
        workload = cost.Workload(IMAGES_PER_MONTH, fp32_s, memory_mb=6144, max_concurrency=80)
        full = cost.compare(workload, prices, "us-west-2", "ml.c5.xlarge")
        faster = cost.speed_up(workload, prices, "us-west-2", "ml.c5.xlarge", ratio)
        print(f"  {IMAGES_PER_MONTH:,} images/month serverless at 6144 MB: fp32 "
              f"{full.serverless_per_month:,.2f} USD, int8 {faster.serverless_per_month:,.2f} "
              f"USD; the peak 80 fp32 containers serve takes {faster.concurrency_for_same_peak} "
              "int8 containers")  # fmt: skip
    print(f"exporting and quantizing took up to {_peak_mb():,.0f} MB (this process's peak)")


if __name__ == "__main__":
    main()
