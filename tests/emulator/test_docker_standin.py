"""The Docker stand-in refuses what a real `docker build` would refuse, and records what it did."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from animl_emulator.cdk_cli import DOCKER_STANDIN
from checkout import REPO_ROOT


def docker(log, *args: str, cwd=REPO_ROOT, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DOCKER_STANDIN), *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "DOCKER_STANDIN_LOG": str(log)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def context(tmp_path):
    folder = tmp_path / "context"
    shutil.copytree(REPO_ROOT / "containers" / "animl-serve", folder)
    return folder


def test_the_cdk_publishing_sequence_is_recorded(tmp_path, context):
    log = tmp_path / "calls.jsonl"
    uri = "123456789012.dkr.ecr.us-west-2.amazonaws.com/assets:abc"
    assert (
        docker(
            log, "login", "--username", "AWS", "--password-stdin", uri.split("/")[0], stdin="token"
        ).returncode
        == 0
    )
    assert docker(log, "inspect", "cdkasset-abc").returncode == 1  # not built yet: the CLI builds
    assert (
        docker(
            log, "build", "--tag", "cdkasset-abc", "--platform", "linux/amd64", ".", cwd=context
        ).returncode
        == 0
    )
    assert docker(log, "tag", "cdkasset-abc", uri).returncode == 0
    assert docker(log, "push", uri).returncode == 0
    assert docker(log, "inspect", "cdkasset-abc").returncode == 0
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["command"] for c in calls] == ["login", "build", "tag", "push", "inspect"]
    assert calls[1]["context"] == str(context)
    assert calls[1]["platform"] == "linux/amd64"
    assert calls[3]["image"] == uri  # fmt: skip


def test_a_build_that_docker_would_refuse_is_refused(tmp_path, context):
    (context / "requirements.txt").unlink()
    result = docker(tmp_path / "calls.jsonl", "build", "--tag", "t", ".", cwd=context)
    assert result.returncode == 1
    assert "COPY source 'requirements.txt' is not in the build context" in result.stderr
    assert not (tmp_path / "calls.jsonl").exists()


def test_an_image_that_does_not_run_serve_is_refused(tmp_path, context):
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace('CMD ["serve"]', 'CMD ["train"]'))
    result = docker(tmp_path / "calls.jsonl", "build", "--tag", "t", ".", cwd=context)
    assert result.returncode == 1
    assert "does not run `serve`" in result.stderr


def test_pushing_an_image_that_was_never_built_fails(tmp_path):
    result = docker(tmp_path / "calls.jsonl", "push", "registry/repo:tag")
    assert result.returncode == 1
    assert "An image does not exist locally with the tag: registry/repo:tag" in result.stderr
