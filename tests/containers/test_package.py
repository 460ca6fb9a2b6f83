"""The packaging tool builds only archives that load and run, and refuses broken ones."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from animl_emulator import sample_models as onnx_models
from animl_serve.errors import ArtifactError
from animl_serve.package import build, validate
from tests.containers.conftest import CONTAINER_DIR

CONFIG = {
    "name": "mirav2",
    "version": "2.0",
    "family": "crop-classifier",
    "labels": ["a", "b", "c"],
    "preprocessing": {"classifier": {"input_size": 64, "normalization": "imagenet"}},
}


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Path, Path]:
    onnx = onnx_models.color_classifier(tmp_path / "model.onnx", 3, 64)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    return onnx, config


def members(archive: Path) -> dict[str, int]:
    with tarfile.open(archive) as tar:
        return {m.name: m.mode for m in tar.getmembers()}


def test_build_writes_a_readable_archive_that_validates(parts, tmp_path):
    onnx, config = parts
    out = tmp_path / "out" / "model.tar.gz"
    assert build(onnx, config, out) == "mirav2 2.0: crop-classifier, 3 labels, fp32, inference OK"
    assert members(out) == {"animl-model.json": 0o644, "model.onnx": 0o644}
    assert validate(out).endswith("inference OK")


def test_optimize_ships_the_optimized_graph_instead_of_the_original(parts, tmp_path):
    onnx, config = parts
    out = tmp_path / "model.tar.gz"
    build(onnx, config, out, optimize=True)
    assert set(members(out)) == {"animl-model.json", "model.optimized.onnx"}
    assert validate(out).endswith("inference OK")


def test_classes_that_do_not_match_the_model_output_are_refused(parts, tmp_path):
    onnx, config = parts
    config.write_text(json.dumps(CONFIG | {"labels": ["a", "b"]}))
    out = tmp_path / "model.tar.gz"
    with pytest.raises(
        ArtifactError, match=re.escape("returns 3 scores but animl-model.json lists 2 labels")
    ):
        build(onnx, config, out)
    assert not out.exists()


def test_a_file_that_is_not_onnx_is_refused(parts, tmp_path):
    _, config = parts
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(
        ArtifactError, match=re.escape("model.onnx cannot be loaded by ONNX Runtime")
    ):
        build(garbage, config, tmp_path / "model.tar.gz")


def test_a_wrong_input_layout_is_refused(tmp_path):
    onnx = onnx_models.color_classifier(tmp_path / "model.onnx", 3, 64, layout="NHWC")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    with pytest.raises(ArtifactError):
        build(onnx, config, tmp_path / "model.tar.gz")


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"model.onnx": b"x"}, "animl-model.json is missing"),
        ({"../evil.onnx": b"x"}, "unexpected entry '../evil.onnx'"),
        ({"nested/model.onnx": b"x"}, "unexpected entry 'nested/model.onnx'"),
        ({"animl-model.json": b"{}", "notes.txt": b"x"}, "unexpected entry 'notes.txt'"),
        (
            {"animl-model.json": json.dumps(CONFIG).encode()},
            "holds neither model.onnx nor its optimized form",
        ),
    ],
)
def test_validate_refuses_broken_archives(tmp_path, files, message):
    with pytest.raises(ArtifactError, match=message):
        validate(_archive(tmp_path / "model.tar.gz", files))


def test_validate_refuses_a_file_that_is_not_a_tarball(tmp_path):
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really")
    with pytest.raises(ArtifactError, match=re.escape("is not a readable .tar.gz")):
        validate(bad)


def test_the_command_line_reports_and_exits_non_zero(parts, tmp_path):
    onnx, config = parts
    command = [sys.executable, "-m", "animl_serve.package"]
    good = subprocess.run([*command, "build", "--onnx", str(onnx), "--config", str(config), "--out", str(tmp_path / "m.tar.gz")],
                          cwd=CONTAINER_DIR, capture_output=True, text=True)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert "inference OK" in good.stdout
    config.write_text(json.dumps(CONFIG | {"family": "nope"}))
    bad = subprocess.run([*command, "build", "--onnx", str(onnx), "--config", str(config), "--out", str(tmp_path / "n.tar.gz")],
                         cwd=CONTAINER_DIR, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"refused: {config}: family: 'nope': Input should be")
    assert "Traceback" not in bad.stderr
