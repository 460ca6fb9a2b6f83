#!/usr/bin/env python3
"""The animl-infra CDK app: every environment of the model registry, checked by the quota guard
and cdk-nag. Exits non-zero, and leaves no cloud assembly behind, when anything is wrong."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from checkout import with_pinned_node

# jsii starts Node.js from PATH: the pinned one, however the app is run.
os.environ["PATH"] = with_pinned_node(os.environ)["PATH"]
# A warning's stack trace is of jsii's Node.js bundle, not of this app; the CDK CLI would print
# its first frame (".../lib/program.js:1:5591") as a line of its own above the warning.
os.environ.setdefault("CDK_DISABLE_STACK_TRACE", "1")

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from model_registry.loader import CONTAINERS_DIR, REGISTRY_DIR, load_fleet
from model_registry.registry_files import RegistryError
from stacks.fleet import add_fleet


def _error_messages(assembly: cdk.cx_api.CloudAssembly) -> list[str]:
    return [
        f"[Error at {message.id}] {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level == cdk.cx_api.SynthesisMessageLevel.ERROR
    ]


# What a synthesis writes into its output folder; anything else there is left alone.
ASSEMBLY_ENTRIES = ("manifest.json", "tree.json", "cdk.out", "validation-report.json",
                    "*.template.json", "*.assets.json", "*.metadata.json", "asset.*")  # fmt: skip


def _remove_assembly(outdir: str | None) -> None:
    """No stale templates for `cdk deploy` to pick up, without deleting the folder wholesale."""
    if not outdir:
        return
    for pattern in ASSEMBLY_ENTRIES:
        for entry in Path(outdir).glob(pattern):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _fail(outdir: str | None, lines: list[str]) -> int:
    _remove_assembly(outdir)
    print("\n".join(lines), file=sys.stderr)
    print("synthesis failed: no cloud assembly was written", file=sys.stderr)
    return 1


def main() -> int:
    app = cdk.App()
    # The only lookups: the registry and container folders, overridable with `-c registry=PATH`
    # and `-c containers=PATH` for tests and benchmarks. Synthesis needs no AWS credentials and
    # makes no network calls.
    registry_dir = Path(app.node.try_get_context("registry") or REGISTRY_DIR)
    containers_dir = Path(app.node.try_get_context("containers") or CONTAINERS_DIR)
    try:
        fleet = load_fleet(registry_dir, containers_dir)
    except RegistryError as error:
        return _fail(None, [str(error)])

    add_fleet(app, fleet, containers_dir)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        assembly = app.synth()
    except RuntimeError as error:
        if str(error).startswith("ValidationFailed"):  # cdk-nag's findings, through jsii
            return _fail(app.outdir, [str(error)])
        _remove_assembly(app.outdir)
        raise  # a fault: its traceback is what the engineer needs
    errors = _error_messages(assembly)
    if errors:
        return _fail(assembly.directory, errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
