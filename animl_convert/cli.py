"""python -m animl_convert: one model's source to model.onnx and conversion.json."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.console import Console

from animl_contract.conversion import ConversionReport, SourceFormat
from animl_convert.convert import Request, convert
from animl_convert.errors import CheckFailed, ConversionError
from animl_ops import paths
from checkout import REGISTRY_DIR
from model_registry.loader import UnknownName, load_fleet
from model_registry.registry_files import RegistryError

app = typer.Typer(add_completion=False, rich_markup_mode=None)  # see animl_ops.cli
err = Console(stderr=True, soft_wrap=True)
FORMATS = get_args(SourceFormat)


def summary(report: ConversionReport) -> str:
    lines = [
        f"{report.source_format} -> ONNX, input {list(report.input_shape)}",
        f"fp32 vs source: {report.fp32.describe()}",
    ]
    lines += [f"note: {note}" for note in report.notes]
    if report.int8 is not None:
        q = report.int8
        verdict = "passed" if q.passed else f"FAILED, shipped anyway: {q.override_reason}"
        lines.append(
            f"int8 vs fp32 ({q.calibration_images} calibration images, per-channel "
            f"{q.per_channel}): {q.gate} {verdict}; {q.agreement.describe()}; latency "
            f"{q.latency_ratio:.2f}x of fp32"
        )
    if report.fp32.input_source == "synthetic":
        lines.append(
            "note: checked on synthetic images only; --samples DIR with a few dozen of the "
            "camera traps' own photos checks it on what the endpoint will see"
        )
    return "\n".join(lines)


@app.command()
def main(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    source: Annotated[Path, typer.Argument(help="the file (or SavedModel folder) to convert")],
    source_format: Annotated[
        str, typer.Option("--from", help=f"what SOURCE is: {', '.join(FORMATS)}")
    ],
    out: Annotated[Path, typer.Option("--out", help="folder for model.onnx and conversion.json")],
    code: Annotated[
        str | None,
        typer.Option("--code", help="pytorch: FILE.py:FACTORY that builds the model"),
    ] = None,
    yolov5_repo: Annotated[
        Path | None,
        typer.Option("--yolov5-repo", help="yolov5: a clone of ultralytics/yolov5 (its classes)"),
    ] = None,
    samples: Annotated[
        Path | None,
        typer.Option("--samples", help="images to compare on (default: synthetic ones)"),
    ] = None,
    int8: Annotated[bool, typer.Option("--int8", help="ship a calibrated INT8 graph")] = False,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="--int8: the calibration images")
    ] = None,
    per_channel: Annotated[
        bool, typer.Option("--per-channel/--no-per-channel", help="--int8: per-channel weights")
    ] = True,
    accept_int8: Annotated[
        str | None,
        typer.Option("--accept-int8", help="ship an INT8 graph that fails its gate, because …"),
    ] = None,
    registry: Annotated[
        Path, typer.Option("--registry", envvar="ANIML_REGISTRY", show_default=False)
    ] = REGISTRY_DIR,
) -> None:
    """Convert, verify against the source and, with --int8, quantize: nothing is written unless
    every check passes. Then package with `python -m animl_ops artifact build MODEL --onnx
    OUT/model.onnx --report OUT/conversion.json`."""
    started = time.monotonic()

    def progress(step: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {step}", file=sys.stderr, flush=True)

    try:
        if source_format not in FORMATS:
            raise ConversionError(f"--from {source_format!r}: choose one of {', '.join(FORMATS)}")
        source = paths.existing(source, "SOURCE")
        out = paths.output_folder(out, "--out")
        samples, calibration = (
            None if folder is None else paths.existing_folder(folder, option, "images")
            for folder, option in ((samples, "--samples"), (calibration, "--calibration"))
        )
        if yolov5_repo is not None:
            yolov5_repo = paths.existing_folder(yolov5_repo, "--yolov5-repo", "YOLOv5's code")
        if code is not None and ":" in code:  # else the source loader says what --code must be
            file, _, factory = code.partition(":")
            code = f"{paths.existing_file(Path(file), '--code')}:{factory}"
        registry = paths.existing_folder(registry, "--registry", "model files (models/*.yaml)")
        try:
            fleet = load_fleet(registry)
        except RegistryError as error:
            raise ConversionError(f"the registry is invalid:\n{error}") from error
        spec = fleet.model(model)
        report = convert(
            Request(
                model=spec,
                source_format=source_format,  # type: ignore[arg-type]
                source=source,
                out=out,
                code=code,
                yolov5_repo=yolov5_repo,
                samples=samples,
                int8=int8,
                calibration=calibration,
                per_channel=per_channel,
                accept_int8=accept_int8,
            ),
            progress,
        )
    except (ConversionError, UnknownName, paths.BadPath) as error:
        err.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        raise typer.Exit(1 if isinstance(error, CheckFailed) else 2) from error
    print(summary(report))
    print(f"wrote {out / 'model.onnx'} and {out / 'conversion.json'}")
    if spec.precision != report.precision:
        print(
            f"note: models/{model}.yaml declares precision {spec.precision}; set precision: "
            f"{report.precision} there to package this graph"
        )
