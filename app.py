#!/usr/bin/env python3
"""The animl-infra CDK app: every environment of the model registry, checked by the quota guard
and cdk-nag. Exits non-zero, and leaves no cloud assembly behind, when anything is wrong."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# jsii's end-of-life banner for Node 20 would bury the app's own messages, however it is run.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from model_registry.loader import (
    DEFAULT_CONTAINERS_DIR,
    DEFAULT_REGISTRY_DIR,
    RegistryError,
    load_fleet,
)
from stacks.fleet import add_fleet


def _error_messages(assembly: cdk.cx_api.CloudAssembly) -> list[str]:
    return [
        f"[Error at {message.id}] {message.entry.data}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level == cdk.cx_api.SynthesisMessageLevel.ERROR
    ]


def _fail(outdir: str | None, lines: list[str]) -> int:
    if outdir:
        shutil.rmtree(outdir, ignore_errors=True)
    print("\n".join(lines), file=sys.stderr)
    print("synthesis failed: no cloud assembly was written", file=sys.stderr)
    return 1


def main() -> int:
    app = cdk.App()
    # The only lookups: the registry folder, overridable with `-c registry=PATH` for tests and
    # benchmarks. Synthesis needs no AWS credentials and makes no network calls.
    registry_dir = Path(app.node.try_get_context("registry") or DEFAULT_REGISTRY_DIR)
    try:
        fleet = load_fleet(registry_dir, DEFAULT_CONTAINERS_DIR)
    except RegistryError as error:
        return _fail(None, [str(error)])

    add_fleet(app, fleet, DEFAULT_CONTAINERS_DIR)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        assembly = app.synth()
    except RuntimeError as error:  # cdk-nag findings raise ValidationFailed through jsii
        return _fail(app.outdir, [str(error)])
    errors = _error_messages(assembly)
    if errors:
        return _fail(assembly.directory, errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
