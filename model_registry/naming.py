"""The names the Animl API depends on, derived from the registry."""

from __future__ import annotations

from model_registry.schema import EndpointKind

# Where the Animl API reads each endpoint's name (animl-api src/config/config.ts).
PARAMETER_PREFIX = "/ml/"


def endpoint_name(model_name: str, kind: EndpointKind) -> str:
    """Stable across concurrency and memory changes, so SSM values and warm API caches stay valid."""
    return f"{model_name}-{kind}"


def parameter_name(model_name: str, kind: EndpointKind, stage: str) -> str:
    return f"{PARAMETER_PREFIX}{model_name}-{kind}-endpoint-{stage}"
