"""Tests that need a Docker engine: skipped with the reason where there is none, failed instead
where ANIML_REQUIRE_DOCKER=1 (as .ci/run sets it), so CI never passes them by skipping."""

from __future__ import annotations

import os

import pytest

from animl_emulator.docker_engine import ImageUnavailable, build_runtime_image

REQUIRE_VARIABLE = "ANIML_REQUIRE_DOCKER"
#: The tests' build of containers/animl-serve, made once per run.
TEST_IMAGE = "animl-serve:test"


def unavailable(reason: str) -> None:
    """Skips, or fails where an engine is required; never returns."""
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def runtime_image() -> str:
    try:
        return build_runtime_image(TEST_IMAGE)
    except ImageUnavailable as error:
        unavailable(str(error))
        raise
