"""`mlmodel export`, `artifact build` and `classes import`: a model's records, archive and labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from animl_ops import animl_api, paths
from animl_ops.artifact_build import BuildFailed, build_artifact
from animl_ops.classes_import import ImportFailed, import_classes
from animl_ops.cli_common import OpsError, RegistryOption, err, fleet_of, out, working
from animl_ops.mlmodel import IncompleteRecord, check_artifact, mlmodel_record, unverified_notes
from checkout import REGISTRY_DIR

mlmodel_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="MLModel records for MongoDB."
)
classes_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="A model's classes in the registry."
)
artifact_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="model.tar.gz, from the registry."
)


@mlmodel_app.command("export")
def mlmodel_export(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="model.tar.gz: compare its config with the registry, serve it and read each "
            "record's answer as the Animl API does",
        ),
    ] = None,
    registry: RegistryOption = REGISTRY_DIR,
) -> None:
    """Print the model's MLModel records as a JSON array, ready for MongoDB."""
    spec = fleet_of(registry).model(model)
    unrouted = [r.id for r in spec.records if animl_api.interface(r.id) is None]
    if unrouted:
        raise OpsError(
            f"the Animl API routes no record {unrouted} (src/ml/modelInterfaces.ts): it would "
            f"drop every message; fix records in model_registry/models/{model}.yaml"
        )
    records, incomplete = [], []
    for record in spec.records:
        try:
            records.append(mlmodel_record(spec, record))
        except IncompleteRecord as error:
            incomplete.append(str(error))
    if incomplete:  # every record's missing values at once, not the first record's alone
        raise OpsError("\n".join(incomplete))
    if check is not None:
        check = paths.existing_file(check, "--check")
        with working(f"serving {check.name} with the container runtime …"):
            result = check_artifact(spec, check)
        for problem in result.problems:
            err.print(f"mismatch {model}: {problem}", markup=False, highlight=False)
        if result.problems:
            raise typer.Exit(1)
        for record_id, labels in result.served.items():
            err.print(f"{record_id}: the Animl API reads the answer as labels {list(labels)}")
        err.print(f"{model}: {result.precision}", markup=False, highlight=False)
    for note in unverified_notes(spec):
        err.print(f"unverified {model}: {note}", markup=False, highlight=False)
    print(json.dumps(records, indent=2, ensure_ascii=False))


@artifact_app.command("build")
def artifact_build(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    onnx: Annotated[Path, typer.Option("--onnx", help="the model's ONNX graph")],
    out: Annotated[Path, typer.Option("--out", help="where to write model.tar.gz")],
    detector: Annotated[
        Path | None, typer.Option("--detector", help="SpeciesNet: the detector's ONNX graph")
    ] = None,
    geofence: Annotated[
        Path | None, typer.Option("--geofence", help="SpeciesNet: the release's geofence JSON")
    ] = None,
    optimize: Annotated[
        bool, typer.Option("--optimize", help="ship the graph ONNX Runtime optimized")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="conversion.json of python -m animl_convert, to ship"),
    ] = None,
    registry: RegistryOption = REGISTRY_DIR,
) -> None:
    """Write animl-model.json from the registry entry, then package and validate the archive."""
    onnx = paths.existing_file(onnx, "--onnx")
    out = paths.output_file(out, "--out")
    detector, geofence, report = (
        None if given is None else paths.existing_file(given, option)
        for given, option in (
            (detector, "--detector"),
            (geofence, "--geofence"),
            (report, "--report"),
        )
    )
    spec = fleet_of(registry).model(model)
    with working(f"packaging {model} and serving it once …"):
        try:
            summary = build_artifact(spec, onnx, out, detector, optimize, geofence, report)
        except BuildFailed as error:
            raise OpsError(f"{model}: the packaging tool refused: {error}") from error
    print(summary)


@classes_app.command("import")
def classes_import(
    model: Annotated[str, typer.Argument(help="registry name of the model")],
    source: Annotated[
        Path, typer.Argument(help="index_to_name.json, labels.txt (one a line) or a CSV")
    ],
    column: Annotated[
        str | None, typer.Option("--column", help="the CSV column holding the labels")
    ] = None,
    taxonomy: Annotated[
        bool, typer.Option("--taxonomy", help="SOURCE is a SpeciesNet taxonomy_release.txt")
    ] = False,
    registry: RegistryOption = REGISTRY_DIR,
) -> None:
    """Write the model's labels, in output order, from its own files into the registry."""
    source = paths.existing_file(source, "SOURCE")
    registry = paths.existing_folder(registry, "--registry", "model files (models/*.yaml)")
    try:
        count = import_classes(registry, model, source, column, taxonomy)
    except ImportFailed as error:
        raise OpsError(str(error)) from error
    out.print(
        f"{model}: {count} labels written to {registry.name}/classes/ and "
        f"{registry.name}/models/{model}.yaml points at them; review with git diff"
    )
