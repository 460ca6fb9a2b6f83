"""Prints how long synthesis takes, and what it costs per endpoint against a hand-written L1 app.

Each case is a fresh process, as `cdk synth` runs it. Ours: `python app.py` on a generated
registry of N endpoints (cdk-nag, the quota guard, alarms and dashboard on); the L1 baseline:
`benchmarks/l1_baseline.py` with the same N over the same number of stacks (model, config,
endpoint and two parameters per endpoint, one role per stack, no image asset, no nag). Per
endpoint = (fastest run - fastest empty CDK app) / N, the fastest because this machine's noise
only ever adds time; marginal = what each endpoint adds from 20 to 200.

    .venv/bin/python -m benchmarks.synth_time [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import REPO_ROOT, with_pinned_node
from model_registry.synthetic import synthetic_model_names, write_synthetic_registry

EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"
L1_BASELINE = str(REPO_ROOT / "benchmarks" / "l1_baseline.py")
#: Endpoints -> stack shards: Animl's 4 at its size, 8 where 200 endpoints need them.
SIZES = {20: 4, 200: 8}


def timed_run(args: list[str], context: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        env = with_pinned_node(os.environ) | {
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps(context),
        }
        start = time.perf_counter()
        result = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    repeat = parser.parse_args().repeat

    with tempfile.TemporaryDirectory() as tmp:
        cases: dict[str, tuple[list[str], dict[str, str], int]] = {
            "empty CDK app (floor)": ([sys.executable, "-c", EMPTY_APP], {}, 0),
            "Animl registry (25 endpoints, 2 environments)": ([sys.executable, "app.py"], {}, 25),
        }
        for endpoints, shards in SIZES.items():
            registry = write_synthetic_registry(
                Path(tmp) / str(endpoints),
                synthetic_model_names(endpoints // 2),
                stack_shards=shards,
            )
            cases[f"L1 baseline, {endpoints} endpoints, {shards} stacks"] = (
                [sys.executable, L1_BASELINE, str(endpoints), str(shards)],
                {},
                endpoints,
            )
            cases[f"ours, {endpoints} endpoints, {shards}+{shards}+1 stacks"] = (
                [sys.executable, "app.py"],
                {"registry": str(registry)},
                endpoints,
            )
        print(f"synthesis time, {repeat} run(s) each, {os.cpu_count()} CPUs")
        print(f"{'case':52} {'median s':>9} {'min s':>7} {'per endpoint ms':>16}")
        fastest: dict[str, float] = {}
        floor = 0.0
        for name, (args, context, endpoints) in cases.items():
            times = [timed_run(args, context) for _ in range(repeat)]
            fastest[name] = best = min(times)
            floor = floor or best
            cost = f"{(best - floor) / endpoints * 1000:16.0f}" if endpoints else ""
            print(f"{name:52} {statistics.median(times):9.2f} {best:7.2f} {cost}")

    def per_endpoint(kind: str, endpoints: int) -> float:
        (name,) = [n for n in fastest if n.startswith(f"{kind}, {endpoints} endpoints")]
        return (fastest[name] - floor) / endpoints

    def marginal(kind: str) -> float:
        small, large = SIZES
        return (per_endpoint(kind, large) * large - per_endpoint(kind, small) * small) / (
            large - small
        )

    for endpoints in SIZES:
        ratio = per_endpoint("ours", endpoints) / per_endpoint("L1 baseline", endpoints)
        print(f"ours / L1 per endpoint at {endpoints} endpoints: {ratio:.1f}x")
    ours, baseline = marginal("ours"), marginal("L1 baseline")
    print(
        f"marginal cost of an endpoint: ours {ours * 1000:.0f} ms, L1 {baseline * 1000:.0f} ms "
        f"({ours / baseline:.1f}x)"
    )


if __name__ == "__main__":
    main()
