"""What one account and region really holds: SageMaker endpoints and the `/ml/` SSM parameters.
The one reader of them, for `quota --live`, `smoke` and `migrate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from model_registry.naming import PARAMETER_PREFIX

TAKEOVER_TAG = "animl:takeover-of"


@dataclass(frozen=True)
class DeployedEndpoint:
    name: str
    status: str
    config_name: str
    # None for an endpoint on instances: it holds no serverless concurrency.
    memory_mb: int | None
    max_concurrency: int | None
    provisioned_concurrency: int | None
    #: The registry endpoint this hand-made one is being replaced by (`migrate run`), if any.
    replaced_by: str | None = None
    arn: str = ""
    models: tuple[str, ...] = ()

    @property
    def serverless(self) -> bool:
        return self.max_concurrency is not None


@dataclass(frozen=True)
class Inventory:
    endpoints: dict[str, DeployedEndpoint]
    config_names: frozenset[str]
    model_names: frozenset[str]
    parameters: dict[str, str]
    parameters_modified: dict[str, datetime] = field(default_factory=dict)

    def serverless_concurrency(self) -> int:
        return sum(e.max_concurrency or 0 for e in self.endpoints.values())


def pages(client, operation: str, key: str, **kwargs) -> list[dict]:
    """Every item of a paginated list call."""
    return [
        item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]
    ]


def _describe(sagemaker, summary: dict) -> DeployedEndpoint:
    name = summary["EndpointName"]
    described = sagemaker.describe_endpoint(EndpointName=name)
    config_name = described["EndpointConfigName"]
    tags = sagemaker.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", [])
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)[
        "ProductionVariants"
    ]
    serverless = variants[0].get("ServerlessConfig", {})
    return DeployedEndpoint(
        name=name,
        status=summary["EndpointStatus"],
        config_name=config_name,
        memory_mb=serverless.get("MemorySizeInMB"),
        max_concurrency=serverless.get("MaxConcurrency"),
        provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
        replaced_by=next((t["Value"] for t in tags if t["Key"] == TAKEOVER_TAG), None),
        arn=described["EndpointArn"],
        models=tuple(v["ModelName"] for v in variants),
    )


def read_inventory(sagemaker, ssm) -> Inventory:
    """Reads the account with boto3 clients for one region (all list calls are paginated)."""
    endpoints = [_describe(sagemaker, s) for s in pages(sagemaker, "list_endpoints", "Endpoints")]
    parameters = pages(
        ssm, "get_parameters_by_path", "Parameters", Path=PARAMETER_PREFIX, Recursive=True
    )
    return Inventory(
        endpoints={e.name: e for e in endpoints},
        config_names=frozenset(
            c["EndpointConfigName"]
            for c in pages(sagemaker, "list_endpoint_configs", "EndpointConfigs")
        ),
        model_names=frozenset(m["ModelName"] for m in pages(sagemaker, "list_models", "Models")),
        parameters={p["Name"]: p["Value"] for p in parameters},
        parameters_modified={p["Name"]: p["LastModifiedDate"] for p in parameters},
    )
