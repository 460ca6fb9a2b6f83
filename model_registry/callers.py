"""What an environment's callers can ever send an endpoint at once, from `callers` in
environments.yaml: calls in flight per stage, by endpoint kind, times the stages that share it."""

from __future__ import annotations

from model_registry.schema import EndpointKind, EnvironmentSpec, ModelSpec


def caller_bound(environment: EnvironmentSpec, kind: EndpointKind) -> int | None:
    """None where the environment does not declare its callers of that kind."""
    per_stage = getattr(environment.callers, kind)
    return None if per_stage is None else per_stage * len(environment.stages)


def oversized(environment: EnvironmentSpec, model: ModelSpec) -> list[tuple[EndpointKind, str]]:
    """(kind, warning) for each endpoint whose max concurrency its callers could never use."""
    found = []
    for kind, spec in model.endpoints.items():
        bound = caller_bound(environment, kind)
        if bound is not None and spec.max_concurrency > bound:
            found.append(
                (
                    kind,
                    f"{model.name} {kind} in environment {environment.name}: max_concurrency "
                    f"{spec.max_concurrency} is more than its callers can use, "
                    f"{getattr(environment.callers, kind)} calls in flight per stage "
                    f"(callers.{kind}) x {len(environment.stages)} stages = {bound}",
                )
            )
    return found
