"""The stacks that watch an environment's endpoints: one with the alarm topic and the dashboard,
and per shard of models one with their alarms (an endpoint's four alarms would overflow a single
stack's 500 resources at 125 endpoints)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Environment, Stack
from constructs import Construct

from animl_constructs.fleet_monitoring import (
    EndpointAlarms,
    EndpointAlarmsProps,
    FleetMonitoring,
    FleetMonitoringProps,
    MonitoredEndpoint,
    topic_name,
)
from model_registry.schema import EnvironmentSpec, ModelSpec
from stacks.endpoint_props import monitored_endpoint


def monitored_endpoints(models: Sequence[ModelSpec]) -> list[MonitoredEndpoint]:
    return [
        monitored_endpoint(model, kind, spec)
        for model in models
        for kind, spec in model.endpoints.items()
    ]


class _WatchingStack(Stack):
    """A stack in an environment's account and region that watches the endpoints of `models`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        environment: EnvironmentSpec,
        models: Sequence[ModelSpec],
        description: str,
    ) -> None:
        super().__init__(
            scope,
            id_,
            env=Environment(account=environment.account, region=environment.region),
            description=description,
            analytics_reporting=False,
        )
        self.watched = monitored_endpoints(models)


class MonitoringStack(_WatchingStack):
    """All of an environment's models: the dashboard shows every endpoint."""

    def __init__(
        self, scope: Construct, id_: str, *, environment: EnvironmentSpec, **kwargs
    ) -> None:
        super().__init__(scope, id_, environment=environment, **kwargs)
        props = FleetMonitoringProps(
            name=environment.name, endpoints=self.watched, alarm_emails=environment.alarm_emails
        )
        self.monitoring = FleetMonitoring(self, "Monitoring", props=props)


class EndpointAlarmsStack(_WatchingStack):
    """One shard's models; present for every shard even when empty, as the endpoint stacks are."""

    def __init__(
        self, scope: Construct, id_: str, *, environment: EnvironmentSpec, **kwargs
    ) -> None:
        super().__init__(scope, id_, environment=environment, **kwargs)
        props = EndpointAlarmsProps(topic_name=topic_name(environment.name), endpoints=self.watched)
        self.alarms = EndpointAlarms(self, "Alarms", props=props)
