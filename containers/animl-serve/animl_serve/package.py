"""Builds and validates model.tar.gz artifacts.

    python -m animl_serve.package build --onnx model.onnx --config animl-model.json \
        [--detector detector.onnx --taxonomy taxonomy_release.txt --geofence geofence.json]
        [--report conversion.json] [--optimize] --out model.tar.gz
    python -m animl_serve.package validate model.tar.gz

`build` writes the archive only after it has validated it: loaded the model and run one
inference on a synthetic image through the family's handler. An int8 config needs the converter's
report (python -m animl_convert), and a report must state the config's precision. `--optimize` ships the graph that
ONNX Runtime optimized (extended level, portable across CPUs) instead of the original, so that
cold starts neither download two graphs nor redo that optimization.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from pydantic import ValidationError

from animl_contract.artifact import (
    CONFIG_FILE,
    DETECTOR_FILE,
    GEOFENCE_FILE,
    MODEL_FILE,
    ONNX_FILES,
    TAXONOMY_FILE,
    ArtifactConfigError,
    optimized_name,
    parse_artifact_config,
)
from animl_contract.conversion import CONVERSION_FILE, ConversionReport
from animl_serve.backend import OnnxBackend, SessionOptions
from animl_serve.cpu import usable_cpus
from animl_serve.errors import ArtifactError, ClientError
from animl_serve.handlers import Limits, load_handler

ALLOWED_FILES = {
    CONFIG_FILE,
    CONVERSION_FILE,
    TAXONOMY_FILE,
    GEOFENCE_FILE,
    *ONNX_FILES,
    *(optimized_name(n) for n in ONNX_FILES),
}


def _options() -> SessionOptions:
    return SessionOptions(intra_op_threads=usable_cpus())


def _extract(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("./")
                if not member.isfile() or "/" in name or name not in ALLOWED_FILES:
                    raise ArtifactError(
                        f"{archive.name}: unexpected entry {member.name!r}; an artifact holds only "
                        f"{sorted(ALLOWED_FILES)} at its top level"
                    )
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArtifactError(f"{archive.name} is not a readable .tar.gz: {exc}") from exc


def validate(archive: Path) -> str:
    """Loads the artifact as the runtime would and runs one inference; returns a summary."""
    with tempfile.TemporaryDirectory() as tmp:
        _extract(archive, Path(tmp))
        try:
            handler = load_handler(Path(tmp), _options(), Limits(max_image_pixels=100_000_000))
        except ClientError as exc:  # the synthetic request was refused: the config is inconsistent
            raise ArtifactError(f"the handler refused its own synthetic request: {exc}") from exc
        config = handler.config
        report = _conversion_report(Path(tmp) / CONVERSION_FILE)
        if report is None and config.precision == "int8":
            raise ArtifactError(
                f"an int8 artifact needs the converter's {CONVERSION_FILE} (python -m "
                "animl_convert --int8 writes it; pass it with --report)"
            )
        if report is not None and report.precision != config.precision:
            raise ArtifactError(
                f"{CONVERSION_FILE} records precision {report.precision} but {CONFIG_FILE} "
                f"says {config.precision}; set precision in the registry to what was converted"
            )
        return (
            f"{config.name} {config.version}: {config.family}, {len(config.labels)} labels, "
            f"{config.precision}, inference OK"
        )


def _conversion_report(path: Path) -> ConversionReport | None:
    if not path.is_file():
        return None
    try:
        return ConversionReport.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ArtifactError(f"{CONVERSION_FILE}: {problems}") from exc


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, "", ""
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def build(
    onnx: Path,
    config: Path,
    out: Path,
    detector: Path | None = None,
    optimize: bool = False,
    taxonomy: Path | None = None,
    geofence: Path | None = None,
    report: Path | None = None,
) -> str:
    try:
        config_data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{config}: cannot read the model config: {exc}") from exc
    try:
        parse_artifact_config(config_data, str(config))
    except ArtifactConfigError as exc:
        raise ArtifactError(str(exc)) from exc
    for path in (onnx, detector, taxonomy, geofence, report):
        if path is not None and not path.is_file():
            raise ArtifactError(f"{path} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        files = {MODEL_FILE: onnx, CONFIG_FILE: config}
        extras = {
            DETECTOR_FILE: detector,
            TAXONOMY_FILE: taxonomy,
            GEOFENCE_FILE: geofence,
            CONVERSION_FILE: report,
        }
        files |= {name: path for name, path in extras.items() if path is not None}
        if optimize:
            for name, source in list(files.items()):
                if name.endswith(".onnx"):
                    optimized = staging / optimized_name(name)
                    OnnxBackend(source, SessionOptions(1, "extended", save_optimized_to=optimized))
                    del files[name]
                    files[optimized.name] = optimized
        partial = staging / "model.tar.gz"
        # Model weights hardly compress; a low level keeps packaging fast at the same size.
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            for name, source in sorted(files.items()):
                _add(tar, source, name)
        summary = validate(partial)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, out)
        os.chmod(out, 0o644)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m animl_serve.package", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="build, validate and write model.tar.gz")
    b.add_argument("--onnx", type=Path, required=True)
    b.add_argument("--config", type=Path, required=True, help=f"the {CONFIG_FILE} to ship")
    b.add_argument("--detector", type=Path, help="SpeciesNet: the detector to run first")
    b.add_argument("--taxonomy", type=Path, help="SpeciesNet: the release's taxonomy_release.txt")
    b.add_argument("--geofence", type=Path, help="SpeciesNet: the release's geofence JSON")
    b.add_argument("--report", type=Path, help=f"the converter's {CONVERSION_FILE}")
    b.add_argument("--optimize", action="store_true", help="also ship the graph-optimized model")
    b.add_argument("--out", type=Path, required=True)
    v = commands.add_parser("validate", help="load an archive and run one inference")
    v.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            summary = build(
                args.onnx,
                args.config,
                args.out,
                args.detector,
                args.optimize,
                args.taxonomy,
                args.geofence,
                args.report,
            )
            print(f"wrote {args.out}: {summary}")
        else:
            print(f"{args.archive}: {validate(args.archive)}")
    except ArtifactError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
