"""Every path argument of the ops CLI and the converter, given what a user mistypes: missing, a
file for a folder and the reverse, an output nobody can write. Each is one line naming the option
and the path, exit 2, and nothing is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checkout import REPO_ROOT
from tests.registries import FIXTURE_REGISTRY

#: sysfs creates no files, for root neither: an output folder nobody can write, on any Linux.
UNWRITABLE = Path("/sys")

OPS = ("animl_ops",)
CONVERT = ("animl_convert", "mirav2")

# (command, arguments with {file} an existing file and {dir} an existing folder, the error line)
CASES = [
    (OPS, "artifact build mirav2 --onnx missing.onnx --out m.tar.gz",
     "--onnx missing.onnx: no such file"),
    (OPS, "artifact build mirav2 --onnx {dir} --out m.tar.gz", "--onnx {dir}: is a folder; pass a file"),
    (OPS, "artifact build mirav2 --onnx {file} --out {dir}",
     "--out {dir}: is a folder; pass a file name"),
    (OPS, "artifact build mirav2 --onnx {file} --out nowhere/m.tar.gz",
     "--out nowhere/m.tar.gz: no folder {cwd}/nowhere; create it first"),
    (OPS, f"artifact build mirav2 --onnx {{file}} --out {UNWRITABLE}/m.tar.gz",
     f"--out {UNWRITABLE}/m.tar.gz: cannot write in {UNWRITABLE} (Permission denied)"),
    (OPS, "artifact build mirav2 --onnx {file} --out m.tar.gz --report missing.json",
     "--report missing.json: no such file"),
    (OPS, "artifact build speciesnetv401a --onnx {file} --out m.tar.gz --detector missing.onnx",
     "--detector missing.onnx: no such file"),
    (OPS, "artifact build speciesnetv401a --onnx {file} --out m.tar.gz --geofence {dir}",
     "--geofence {dir}: is a folder; pass a file"),
    (OPS, "mlmodel export mirav2 --check missing.tar.gz", "--check missing.tar.gz: no such file"),
    (OPS, "mlmodel export mirav2 --check {dir}", "--check {dir}: is a folder; pass a file"),
    (OPS, "classes import alitav3 missing.json", "SOURCE missing.json: no such file"),
    (OPS, "quota --registry missing", "--registry missing: no such folder"),
    (OPS, "quota --registry {file}",
     "--registry {file}: is a file; pass a folder of model files (models/*.yaml)"),
    (OPS, "cost --images 1 --seconds-per-image 1 --prices missing.yaml",
     "--prices missing.yaml: no such file"),
    (CONVERT, "missing.pt --from torchscript --out o", "SOURCE missing.pt: no such file or folder"),
    (CONVERT, "{file} --from torchscript --out {file}", "--out {file}: is a file; pass a folder"),
    (CONVERT, f"{{file}} --from torchscript --out {UNWRITABLE}/o",
     f"--out {UNWRITABLE}/o: cannot write in {UNWRITABLE} (Permission denied)"),
    (CONVERT, "{file} --from torchscript --out o --samples {file}",
     "--samples {file}: is a file; pass a folder of images"),
    (CONVERT, "{file} --from torchscript --out o --samples missing",
     "--samples missing: no such folder"),
    (CONVERT, "{file} --from torchscript --out o --int8 --calibration missing",
     "--calibration missing: no such folder"),
    (CONVERT, "{file} --from yolov5 --out o --yolov5-repo {file}",
     "--yolov5-repo {file}: is a file; pass a folder of YOLOv5's code"),
    (CONVERT, "{file} --from pytorch --out o --code missing.py:build", "--code missing.py: no such file"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "arguments", "expected"), CASES)
def test_a_bad_path_is_one_line_naming_it_exit_2_and_nothing_written(
    tmp_path, command, arguments, expected
):
    cwd = tmp_path / "user"
    cwd.mkdir()
    (cwd / "a-file.onnx").write_bytes(b"not looked at")
    (cwd / "a-folder").mkdir()
    values = {"file": "a-file.onnx", "dir": "a-folder", "cwd": str(cwd)}
    before = sorted(cwd.rglob("*"))
    module, *leading = command
    result = subprocess.run(
        [sys.executable, "-m", module, *leading, *arguments.format(**values).split(),
         *([] if "--registry" in arguments else ["--registry", str(FIXTURE_REGISTRY)])],
        cwd=cwd, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {expected.format(**values)}"]
    assert result.stdout == ""
    assert sorted(cwd.rglob("*")) == before


def test_help_shows_flags_as_flags():
    help_text = subprocess.run(
        [sys.executable, "-m", "animl_ops", "quota", "--help"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert "  --live  " in help_text
    assert "<bool>" not in help_text


def test_what_the_readmes_commands_write_is_ignored_by_git():
    written = ["build/mirav2/model.onnx", "build/mirav2/conversion.json", "model.tar.gz",
               "cdk.out/manifest.json", "cdk.out.synth/manifest.json", "cdk.out.new/x.json"]  # fmt: skip
    run = subprocess.run(
        ["git", "check-ignore", *written], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert run.stdout.split() == written
