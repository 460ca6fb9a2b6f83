"""Alarms, an SNS topic and a dashboard for the serverless endpoints of one environment.

Metrics: namespace AWS/SageMaker, dimensions EndpointName and VariantName, as the SageMaker
documentation lists them for serverless endpoints ("Alarms and logs for tracking metrics from
serverless endpoints"). ModelLatency and ModelSetupTime are in microseconds;
ServerlessConcurrentExecutionsUtilization has no unit (concurrent executions / max concurrency).
The alarms name endpoints, not resources, so they live apart from the endpoints' stacks and watch
an endpoint whichever stack (or hand) created it; they find the topic, and the dashboard finds
them, by name.

Alarms and dashboard are written as CloudFormation resources (CfnAlarm, CfnDashboard with its body
as the CloudWatch documentation's "Dashboard body structure and syntax" gives it), not through the
L2 Metric, Alarm and GraphWidget classes: those cost a dozen calls into the CDK's Node.js process
per endpoint, most of the synthesis time of a large fleet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from animl_contract.limits import VARIANT_NAME

NAMESPACE = "AWS/SageMaker"
PERIOD_SECONDS = 300
_MICROSECONDS = 1_000_000
ALARMS_PER_STATUS_WIDGET = 100
GRID_WIDTH = 24
# The path the L2 Alarm and Dashboard gave their resources, and so their logical ids: a named
# alarm or dashboard under a new logical id would be created, then deleted with the old one.
_L2_RESOURCE_ID = "Resource"


@dataclass(frozen=True, kw_only=True)
class MonitoredEndpoint:
    endpoint_name: str
    invocation_5xx_errors: int
    model_setup_seconds: float
    model_latency_seconds: float
    concurrency_utilization: float
    variant_name: str = VARIANT_NAME


@dataclass(frozen=True, kw_only=True)
class FleetMonitoringProps:
    """name: the environment's, in the topic and dashboard names. endpoints: all of them, each
    watched by an EndpointAlarms somewhere in the same account and region."""

    name: str
    endpoints: Sequence[MonitoredEndpoint]
    alarm_emails: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class EndpointAlarmsProps:
    """topic_name: the FleetMonitoring topic of the same account and region."""

    topic_name: str
    endpoints: Sequence[MonitoredEndpoint]


def topic_name(environment_name: str) -> str:
    return f"animl-{environment_name}-alarms"


@dataclass(frozen=True)
class _AlarmedMetric:
    suffix: str
    metric_name: str
    statistic: str
    description: str


_ERRORS = _AlarmedMetric("5xx-errors", "Invocation5XXErrors", "Sum", "answered with a 5xx")
_SETUP = _AlarmedMetric(
    "setup-time", "ModelSetupTime", "Maximum", "cold start near the 3-minute first-ping limit"
)
_LATENCY = _AlarmedMetric(
    "model-latency", "ModelLatency", "Maximum", "invocation near the 60 s timeout"
)
_CONCURRENCY = _AlarmedMetric(
    "concurrency",
    "ServerlessConcurrentExecutionsUtilization",
    "Maximum",
    "at its max concurrency: requests are throttled",
)
_ALARMED = (_ERRORS, _SETUP, _LATENCY, _CONCURRENCY)


def _dimensions(endpoint: MonitoredEndpoint) -> dict[str, str]:
    return {"EndpointName": endpoint.endpoint_name, "VariantName": endpoint.variant_name}


def _thresholds(endpoint: MonitoredEndpoint) -> dict[_AlarmedMetric, float]:
    return {
        _ERRORS: endpoint.invocation_5xx_errors,
        _SETUP: endpoint.model_setup_seconds * _MICROSECONDS,
        _LATENCY: endpoint.model_latency_seconds * _MICROSECONDS,
        _CONCURRENCY: endpoint.concurrency_utilization,
    }


def alarm_name(endpoint: MonitoredEndpoint, alarmed: _AlarmedMetric) -> str:
    return f"{endpoint.endpoint_name}-{alarmed.suffix}"


class EndpointAlarms(Construct):
    """Four alarms per endpoint, to the environment's topic. Kept apart from the topic and the
    dashboard so that they can be spread over stacks as the endpoints are (500 resources each)."""

    def __init__(self, scope: Construct, id_: str, *, props: EndpointAlarmsProps) -> None:
        super().__init__(scope, id_)
        topic_arn = Stack.of(self).format_arn(
            service="sns", resource=props.topic_name, arn_format=ArnFormat.NO_RESOURCE_NAME
        )
        self.alarms: list[cloudwatch.CfnAlarm] = []
        for endpoint in props.endpoints:
            dimensions = [
                cloudwatch.CfnAlarm.DimensionProperty(name=k, value=v)
                for k, v in _dimensions(endpoint).items()
            ]
            for alarmed, threshold in _thresholds(endpoint).items():
                name = alarm_name(endpoint, alarmed)
                alarm = cloudwatch.CfnAlarm(
                    Construct(self, name),
                    _L2_RESOURCE_ID,
                    alarm_name=name,
                    alarm_description=f"{endpoint.endpoint_name}: {alarmed.description}",
                    namespace=NAMESPACE,
                    metric_name=alarmed.metric_name,
                    dimensions=dimensions,
                    statistic=alarmed.statistic,
                    period=PERIOD_SECONDS,
                    threshold=threshold,
                    comparison_operator="GreaterThanOrEqualToThreshold",
                    evaluation_periods=1,
                    treat_missing_data="notBreaching",
                    alarm_actions=[topic_arn],
                    ok_actions=[topic_arn],
                )
                self.alarms.append(alarm)


_GRAPHS = (
    ("Invocations", "Invocations", "Sum", "count"),
    ("5xx errors", "Invocation5XXErrors", "Sum", "count"),
    ("Model latency (max)", "ModelLatency", "Maximum", "microseconds"),
    ("Cold start: model setup time (max)", "ModelSetupTime", "Maximum", "microseconds"),
    ("Concurrency utilization (max)", "ServerlessConcurrentExecutionsUtilization", "Maximum",
     "fraction of max concurrency"),
    ("4xx answers", "Invocation4XXErrors", "Sum", "count"),
)  # fmt: skip


def dashboard_body(
    endpoints: Sequence[MonitoredEndpoint], region: str, alarm_arn_prefix: str
) -> dict[str, Any]:
    """Alarm status rows of up to 100 alarms, then the graphs two to a row, one line per
    endpoint."""
    alarm_arns = [f"{alarm_arn_prefix}{alarm_name(e, a)}" for e in endpoints for a in _ALARMED]
    widgets: list[dict[str, Any]] = []
    y = 0
    for start in range(0, len(alarm_arns), ALARMS_PER_STATUS_WIDGET):
        chunk = alarm_arns[start : start + ALARMS_PER_STATUS_WIDGET]
        height = 1 + (len(chunk) + 3) // 4
        widgets.append(
            {"type": "alarm", "x": 0, "y": y, "width": GRID_WIDTH, "height": height,
             "properties": {"title": "Alarms", "alarms": chunk}}
        )  # fmt: skip
        y += height
    for i, (title, metric_name, statistic, unit) in enumerate(_GRAPHS):
        lines = [
            [NAMESPACE, metric_name, *(v for pair in _dimensions(e).items() for v in pair),
             {"label": e.endpoint_name, "stat": statistic, "period": PERIOD_SECONDS}]
            for e in endpoints
        ]  # fmt: skip
        widgets.append(
            {
                "type": "metric",
                "x": (i % 2) * GRID_WIDTH // 2,
                "y": y + (i // 2) * 6,
                "width": GRID_WIDTH // 2,
                "height": 6,
                "properties": {
                    "view": "timeSeries",
                    "title": title,
                    "region": region,
                    "metrics": lines,
                    "yAxis": {"left": {"label": unit, "showUnits": False}},
                    "legend": {"position": "right"},
                },
            }
        )
    return {"widgets": widgets}


class FleetMonitoring(Construct):
    """The environment's alarm topic (with its e-mail subscribers) and dashboard."""

    def __init__(self, scope: Construct, id_: str, *, props: FleetMonitoringProps) -> None:
        super().__init__(scope, id_)
        self.topic = self._topic(props)
        stack = Stack.of(self)
        alarm_arn_prefix = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.dashboard = cloudwatch.CfnDashboard(
            Construct(self, "Dashboard"),
            _L2_RESOURCE_ID,
            dashboard_name=f"animl-{props.name}-endpoints",
            dashboard_body=json.dumps(
                dashboard_body(props.endpoints, stack.region, alarm_arn_prefix)
            ),
        )

    def _topic(self, props: FleetMonitoringProps) -> sns.Topic:
        # SSE with a customer managed key: CloudWatch may not use the AWS managed SNS key.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the Animl {props.name} alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=topic_name(props.name),
            display_name=f"Animl {props.name} endpoint alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # The TLS-only statement replaces SNS's default access policy: allow the alarms back in.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        for address in props.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic
