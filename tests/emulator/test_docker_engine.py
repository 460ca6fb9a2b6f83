"""Where the image cannot be built (no engine, or a base that cannot be pulled), the image tests
skip with one line that says what was tried and what to do, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from animl_emulator.docker_engine import engine_problem
from checkout import REPO_ROOT


def test_a_base_that_cannot_be_pulled_skips_the_image_tests_with_one_line():
    env = {k: v for k, v in os.environ.items() if k != "ANIML_REQUIRE_DOCKER"}
    env["ANIML_BASE_IMAGE"] = "animl-serve-base:never-built"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/containers/test_docker_image.py"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    reasons = {
        line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("SKIPPED")
    }
    (reason,) = reasons
    if engine_problem() is None:
        assert reason.startswith("cannot pull the base image animl-serve-base:never-built (")
        assert reason.endswith(
            "build one from Debian packages with `make base-image` and set "
            "ANIML_BASE_IMAGE=animl-serve-base:bookworm"
        )
    else:
        assert reason == engine_problem()
    assert "passed" not in run.stdout.splitlines()[-1]
