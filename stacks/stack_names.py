"""The stack names of an environment: the CDK app's, and what the ops tools look them up by."""

from __future__ import annotations

from model_registry.schema import EnvironmentSpec


def stack_id(environment: EnvironmentSpec, shard: int) -> str:
    return f"{environment.name}-endpoints-{shard:02d}"


def endpoint_stack_ids(environment: EnvironmentSpec) -> list[str]:
    return [stack_id(environment, shard) for shard in range(environment.stack_shards)]


def monitoring_stack_id(environment: EnvironmentSpec) -> str:
    return f"{environment.name}-monitoring"


def alarms_stack_id(environment: EnvironmentSpec, shard: int) -> str:
    return f"{environment.name}-alarms-{shard:02d}"
