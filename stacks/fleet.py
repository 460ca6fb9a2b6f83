"""Composes the registry's environments into stacks and guards their quotas."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import App, Environment

from animl_constructs.serverless_quota_guard import AccountRegion, RegionQuota, ServerlessQuotaGuard
from model_registry.callers import oversized
from model_registry.loader import Fleet
from model_registry.naming import endpoint_name
from model_registry.schema import EnvironmentSpec, ModelSpec
from stacks.model_endpoints_stack import ModelEndpointsStack
from stacks.monitoring_stacks import EndpointAlarmsStack, MonitoringStack
from stacks.stack_names import alarms_stack_id, monitoring_stack_id, stack_id


def shard_of(model_name: str, shards: int) -> int:
    """A model's stack depends only on its own name, so adding or removing others never moves it."""
    digest = hashlib.sha256(model_name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def _shard_description(environment: EnvironmentSpec, shard: int) -> str:
    return f"environment {environment.name}, shard {shard + 1} of {environment.stack_shards}"


def add_environment(
    app: App,
    environment: EnvironmentSpec,
    models: list[ModelSpec],
    containers_dir: Path,
) -> list[ModelEndpointsStack]:
    """One endpoints stack and one alarms stack per shard, every shard present even when empty
    (see ModelEndpointsStack), and the monitoring stack the alarms report to."""
    by_shard: list[list[ModelSpec]] = [[] for _ in range(environment.stack_shards)]
    for model in models:
        by_shard[shard_of(model.name, environment.stack_shards)].append(model)
    warnings = {
        endpoint_name(model.name, kind): message
        for model in models
        for kind, message in oversized(environment, model)
    }
    monitoring = MonitoringStack(
        app,
        monitoring_stack_id(environment),
        environment=environment,
        models=models,
        description=f"Alarm topic and dashboard of the Animl endpoints, {environment.name}",
    )
    for shard, shard_models in enumerate(by_shard):
        alarms = EndpointAlarmsStack(
            app,
            alarms_stack_id(environment, shard),
            environment=environment,
            models=shard_models,
            description=f"Alarms of the Animl endpoints, {_shard_description(environment, shard)}",
        )
        alarms.add_stack_dependency(monitoring, "the alarms notify the monitoring stack's topic")
    return [
        ModelEndpointsStack(
            app,
            stack_id(environment, shard),
            env=Environment(account=environment.account, region=environment.region),
            models=shard_models,
            stages=environment.stages,
            warnings=warnings,
            containers_dir=containers_dir,
            kms_key_arn=environment.endpoint_kms_key,
            description=(
                f"Animl serverless model endpoints, {_shard_description(environment, shard)} "
                f"(stages: {', '.join(environment.stages)})"
            ),
        )
        for shard, shard_models in enumerate(by_shard)
    ]


def region_quotas(fleet: Fleet) -> dict[AccountRegion, RegionQuota]:
    return {
        (env.account, env.region): RegionQuota(
            concurrency=env.concurrency_quota,
            endpoints=env.endpoint_quota,
            warning_ratio=env.quota_warning_ratio,
            declared_by=env.name,
            acknowledged=env.quota_warning_acknowledged,
        )
        for env in fleet.environments
    }


def add_fleet(app: App, fleet: Fleet, containers_dir: Path) -> dict[str, list[ModelEndpointsStack]]:
    """Adds every environment's stacks and the quota guard; returns the stacks by environment."""
    stacks = {
        env.name: add_environment(app, env, fleet.models_of(env), containers_dir)
        for env in fleet.environments
    }
    ServerlessQuotaGuard.add_to(app, region_quotas(fleet))
    return stacks
