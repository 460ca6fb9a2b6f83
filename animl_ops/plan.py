"""What the registry says one environment should hold: its endpoints and their SSM parameters."""

from __future__ import annotations

from dataclasses import dataclass

from model_registry.loader import Fleet
from model_registry.naming import endpoint_name, parameter_name
from model_registry.schema import EndpointKind, EnvironmentSpec


@dataclass(frozen=True)
class PlannedEndpoint:
    model: str
    kind: EndpointKind
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None
    # One SSM parameter per stage; each names the endpoint.
    parameters: tuple[str, ...]

    @property
    def name(self) -> str:
        return endpoint_name(self.model, self.kind)


def planned_endpoints(fleet: Fleet, environment: EnvironmentSpec) -> list[PlannedEndpoint]:
    return [
        PlannedEndpoint(
            model=model.name,
            kind=kind,
            memory_mb=spec.memory_mb,
            max_concurrency=spec.max_concurrency,
            provisioned_concurrency=spec.provisioned_concurrency,
            parameters=tuple(parameter_name(model.name, kind, s) for s in environment.stages),
        )
        for model in fleet.models_of(environment)
        for kind, spec in model.endpoints.items()
    ]
