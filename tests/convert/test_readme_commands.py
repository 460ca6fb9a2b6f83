"""The README's "From the model developer's files to model.tar.gz" and "Add a model", run as a
user runs them: in a copy of the repository, from its root, exactly as written there, with
relative paths; each file lands where the user named it, and nothing in the image's folder moves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from checkout import REPO_ROOT  # noqa: E402
from tests.convert.test_torch import classifier  # noqa: E402

#: What a user's clone holds besides the code: none of it is copied, the venv is linked.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out*", "__pycache__", ".*_cache", "tests", "benchmarks"
)


@pytest.fixture
def clone(tmp_path) -> Path:
    root = tmp_path / "animl-infra"
    shutil.copytree(REPO_ROOT, root, symlinks=True, ignore=NOT_COPIED)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    return root


def user(clone: Path, command: str) -> subprocess.CompletedProcess[str]:
    """One README line in a fresh shell at the clone's root."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANIML_REGISTRY", "PYTHONPATH")}
    return subprocess.run(
        ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )


def archive_files(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def traced(seed: int, path: Path) -> None:
    torch.jit.trace(classifier(seed=seed), torch.rand(1, 3, 300, 300)).save(str(path))


def test_convert_package_and_check_with_relative_paths_from_the_root(clone):
    image_folder = sorted(p.relative_to(clone) for p in (clone / "containers").rglob("*"))
    traced(0, clone / "mirav2.pt")

    convert = user(clone, ".venv/bin/python -m animl_convert mirav2 mirav2.pt --from torchscript "
                          "--out build/mirav2")  # fmt: skip
    assert convert.returncode == 0, convert.stderr
    assert f"wrote {clone}/build/mirav2/model.onnx" in convert.stdout
    assert "exporting to ONNX" in convert.stderr  # progress, one line a step

    package = user(clone, ".venv/bin/python -m animl_ops artifact build mirav2 --onnx "
                          "build/mirav2/model.onnx --report build/mirav2/conversion.json "
                          "--out model.tar.gz")  # fmt: skip
    assert package.returncode == 0, package.stderr
    archive = clone / "model.tar.gz"
    assert f"wrote {archive}" in package.stdout
    shipped = archive_files(archive)
    assert shipped["model.onnx"] == (clone / "build/mirav2/model.onnx").read_bytes()
    assert json.loads(shipped["animl-model.json"])["name"] == "mirav2"

    check = user(clone, ".venv/bin/python -m animl_ops mlmodel export mirav2 --check model.tar.gz")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)[0]["_id"] == "mirav2"

    # The image's folder is as it was: nothing the commands wrote would change the image.
    assert sorted(p.relative_to(clone) for p in (clone / "containers").rglob("*")) == image_folder


def test_a_second_build_replaces_the_users_archive_and_a_failed_one_leaves_no_stale_files(clone):
    """ "Add a model", step 2, twice, then on a model that fails its check."""
    out = clone / "build" / "mirav2"
    for seed in (0, 1):
        traced(seed, clone / "mirav2.pt")
        converted = user(clone, ".venv/bin/python -m animl_convert mirav2 mirav2.pt --from "
                                "torchscript --out build/mirav2")  # fmt: skip
        assert converted.returncode == 0, converted.stderr
        built = user(clone, ".venv/bin/python -m animl_ops artifact build mirav2 --onnx "
                            "build/mirav2/model.onnx --report build/mirav2/conversion.json "
                            "--out model.tar.gz")  # fmt: skip
        assert built.returncode == 0, built.stderr
        shipped = archive_files(clone / "model.tar.gz")["model.onnx"]
        assert shipped == (out / "model.onnx").read_bytes()

    # A model with 7 outputs for mirav2's 5 classes: the check fails, and the previous run's
    # graph and report are gone, so that neither is taken for this run's.
    torch.jit.trace(classifier(classes=7), torch.rand(1, 3, 300, 300)).save(str(clone / "bad.pt"))
    failed = user(clone, ".venv/bin/python -m animl_convert mirav2 bad.pt --from torchscript "
                         "--out build/mirav2")  # fmt: skip
    assert failed.returncode == 1
    assert "removed the previous run's model.onnx, conversion.json" in failed.stderr
    assert list(out.iterdir()) == []


def test_classes_import_reads_a_relative_label_file_into_the_clones_registry(clone):
    ours = (REPO_ROOT / "model_registry" / "models" / "alitav3.yaml").read_bytes()
    labels = {"0": "cat", "1": "goat", "2": "Rat sp."}
    (clone / "index_to_name.json").write_text(json.dumps(labels))
    run = user(clone, ".venv/bin/python -m animl_ops classes import alitav3 index_to_name.json")
    assert run.returncode == 0, run.stderr
    written = clone / "model_registry" / "classes" / "alitav3.txt"
    assert written.read_text().splitlines()[-3:] == ["cat", "goat", "Rat sp."]
    assert (
        "classes_file: ../classes/alitav3.txt"
        in (clone / "model_registry" / "models" / "alitav3.yaml").read_text()
    )
    assert (REPO_ROOT / "model_registry" / "models" / "alitav3.yaml").read_bytes() == ours
