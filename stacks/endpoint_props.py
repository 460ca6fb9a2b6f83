"""The one place where a registry entry becomes the props of the constructs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from animl_constructs.fleet_monitoring import MonitoredEndpoint
from animl_constructs.serverless_model_endpoint import (
    ImageFromFolder,
    ImageInEcr,
    ImageSource,
    ServerlessModelEndpointProps,
)
from model_registry.naming import endpoint_name, parameter_name
from model_registry.schema import EndpointKind, EndpointSpec, ModelSpec


def image_source(model: ModelSpec, containers_dir: Path) -> ImageSource:
    if model.image is not None:
        return ImageInEcr(uri=model.image, **model.image_parts)
    assert model.container is not None
    return ImageFromFolder(containers_dir / model.container)


def endpoint_props(
    model: ModelSpec,
    kind: EndpointKind,
    spec: EndpointSpec,
    *,
    region: str,
    stages: Sequence[str],
    containers_dir: Path,
    kms_key_arn: str | None = None,
) -> ServerlessModelEndpointProps:
    name = endpoint_name(model.name, kind)
    return ServerlessModelEndpointProps(
        endpoint_name=name,
        image=image_source(model, containers_dir),
        artifact=model.artifact_for(region),
        memory_mb=spec.memory_mb,
        max_concurrency=spec.max_concurrency,
        provisioned_concurrency=spec.provisioned_concurrency,
        environment=dict(spec.environment),
        parameters={stage: parameter_name(model.name, kind, stage) for stage in stages},
        # Cost-allocation tags on what SageMaker bills for.
        tags={"animl:model": model.name, "animl:endpoint": name},
        artifact_kms_key_arn=model.artifact_kms_key,
        kms_key_arn=kms_key_arn,
    )


def monitored_endpoint(
    model: ModelSpec, kind: EndpointKind, spec: EndpointSpec
) -> MonitoredEndpoint:
    return MonitoredEndpoint(
        endpoint_name=endpoint_name(model.name, kind), **spec.alarms.model_dump()
    )
