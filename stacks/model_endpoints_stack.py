"""A stack that holds the serverless endpoints of a group of models for one environment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Environment, Stack
from constructs import Construct

from animl_constructs.serverless_model_endpoint import ServerlessModelEndpoint
from model_registry.naming import endpoint_name
from model_registry.schema import ModelSpec
from model_registry.takeover import TakeoverState
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
        containers_dir: Path,
        description: str,
        takeover: TakeoverState | None = None,
    ) -> None:
        # No CDKMetadata resource: a shard whose models are all removed must synthesize an empty
        # template, which `cdk deploy` then deletes instead of keeping orphaned endpoints.
        super().__init__(scope, id_, env=env, description=description, analytics_reporting=False)
        self.endpoints: list[ServerlessModelEndpoint] = []
        for model in models:
            for kind, spec in model.endpoints.items():
                name = endpoint_name(model.name, kind)
                if takeover is not None and not takeover.holds(name):
                    continue
                props = endpoint_props(
                    model,
                    kind,
                    spec,
                    region=str(env.region),
                    stages=stages,
                    containers_dir=containers_dir,
                    with_parameters=takeover is None or takeover.owns_parameters(name),
                )
                self.endpoints.append(ServerlessModelEndpoint(self, name, props=props))
