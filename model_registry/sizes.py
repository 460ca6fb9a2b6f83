"""An environment's own endpoint sizes over the model file's: checked as a whole, then applied.

`environments.<env>.sizes.<model>.<batch|realtime>` may set `memory_mb`, `max_concurrency` and
`provisioned_concurrency`; the result must be a valid endpoint, as the model file's own must be.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from animl_contract.artifact import validation_problems
from model_registry.schema import EndpointKind, EndpointSpec, ModelSpec, SizeOverride


def _merged(spec: EndpointSpec, override: SizeOverride) -> dict:
    return spec.model_dump() | override.model_dump(exclude_unset=True)


def size_problems(
    model: ModelSpec, overrides: Mapping[EndpointKind, SizeOverride]
) -> list[tuple[str, str]]:
    """(field below sizes.<model>, message) for each override that does not make an endpoint."""
    declared = dict(model.endpoints.items())
    problems: list[tuple[str, str]] = []
    for kind, override in overrides.items():
        if kind not in declared:
            problems.append(
                (
                    kind,
                    f"models/{model.name}.yaml declares no {kind} endpoint; it has: "
                    f"{', '.join(declared)}",
                )
            )
            continue
        try:
            EndpointSpec.model_validate(_merged(declared[kind], override))
        except ValidationError as error:
            problems += [
                (f"{kind}.{field}" if field else kind, message)
                for field, message in validation_problems(error)
            ]
    return problems


def with_sizes(model: ModelSpec, overrides: Mapping[EndpointKind, SizeOverride]) -> ModelSpec:
    """The model as the environment runs it; the overrides have passed size_problems."""
    if not overrides:
        return model
    endpoints: dict[str, EndpointSpec] = {
        kind: EndpointSpec.model_validate(_merged(spec, overrides[kind]))
        for kind, spec in model.endpoints.items()
        if kind in overrides
    }
    return model.model_copy(update={"endpoints": model.endpoints.model_copy(update=endpoints)})
