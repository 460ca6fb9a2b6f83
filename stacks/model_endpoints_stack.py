"""A stack that holds the serverless endpoints of a group of models for one environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Annotations, Environment, Stack
from constructs import Construct

from animl_constructs.serverless_model_endpoint import ServerlessModelEndpoint
from model_registry.naming import endpoint_name
from model_registry.schema import ModelSpec
from stacks.endpoint_props import endpoint_props


class ModelEndpointsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: Environment,
        models: Sequence[ModelSpec],
        stages: Sequence[str],
        warnings: Mapping[str, str],
        containers_dir: Path,
        description: str,
        kms_key_arn: str | None = None,
    ) -> None:
        """warnings: one line for an endpoint, by endpoint name, shown at synthesis."""
        # No CDKMetadata resource: a shard whose models are all removed must synthesize an empty
        # template, which `cdk deploy` then deletes instead of keeping orphaned endpoints.
        super().__init__(scope, id_, env=env, description=description, analytics_reporting=False)
        self.endpoints: list[ServerlessModelEndpoint] = []
        for model in models:
            for kind, spec in model.endpoints.items():
                props = endpoint_props(
                    model, kind, spec, region=str(env.region), stages=stages,
                    containers_dir=containers_dir, kms_key_arn=kms_key_arn,
                )  # fmt: skip
                name = endpoint_name(model.name, kind)
                endpoint = ServerlessModelEndpoint(self, name, props=props)
                if name in warnings:
                    Annotations.of(endpoint).add_warning(warnings[name])
                self.endpoints.append(endpoint)
