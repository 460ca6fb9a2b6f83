"""Prints how long synthesis takes: an empty CDK app (the floor: Python, jsii and Node start-up),
the Animl fleet, and a generated registry of 200 endpoints. Each is a fresh `python app.py`
process, as `cdk synth` runs it, with cdk-nag and the quota guard on.

    .venv/bin/python benchmarks/synth_time.py [--repeat N]
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

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from model_registry.synthetic import synthetic_model_names, write_synthetic_registry  # noqa: E402

EMPTY_APP = "import aws_cdk as cdk; cdk.App().synth()"


def timed_run(args: list[str], context: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as outdir:
        env = os.environ | {
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps(context),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        start = time.perf_counter()
        result = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    repeat = parser.parse_args().repeat

    with tempfile.TemporaryDirectory() as tmp:
        generated = write_synthetic_registry(Path(tmp), synthetic_model_names(100), stack_shards=8)
        cases = {
            "empty CDK app (floor)": ([sys.executable, "-c", EMPTY_APP], {}),
            "Animl fleet (20 endpoints, 2 environments)": ([sys.executable, "app.py"], {}),
            "generated registry (200 endpoints, 8 stacks)": (
                [sys.executable, "app.py"],
                {"registry": str(generated)},
            ),
        }
        print(f"synthesis time, {repeat} run(s) each, {os.cpu_count()} CPUs")
        print(f"{'case':48} {'median s':>9} {'min s':>7} {'above floor s':>14}")
        floor = None
        for name, (args, context) in cases.items():
            times = [timed_run(args, context) for _ in range(repeat)]
            median = statistics.median(times)
            floor = median if floor is None else floor
            print(f"{name:48} {median:9.2f} {min(times):7.2f} {median - floor:14.2f}")


if __name__ == "__main__":
    main()
