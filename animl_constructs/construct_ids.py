"""The construct ids of a ServerlessModelEndpoint and the paths they give its resources.

The endpoint construct's own id is its endpoint name; the take-over finds each resource in a
synthesized template by these paths (its aws:cdk:path metadata).
"""

from __future__ import annotations

MODEL_ID = "Model"
CONFIG_ID = "Config"
ENDPOINT_ID = "Endpoint"


def parameter_id(stage: str) -> str:
    return f"Parameter-{stage}"


def endpoint_path(stack: str, endpoint: str) -> str:
    return f"{stack}/{endpoint}/{ENDPOINT_ID}"


def config_path(stack: str, endpoint: str) -> str:
    return f"{stack}/{endpoint}/{CONFIG_ID}"


def parameter_path(stack: str, endpoint: str, stage: str) -> str:
    # An L2 StringParameter keeps its CfnParameter as the child "Resource".
    return f"{stack}/{endpoint}/{parameter_id(stage)}/Resource"


def endpoint_of(path: str, stack: str) -> str | None:
    """The endpoint construct a resource of `stack` belongs to, from its path."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == stack else None
