"""Alarms, an SNS topic and a dashboard for the serverless endpoints of one environment.

Metrics: namespace AWS/SageMaker, dimensions EndpointName and VariantName, as the SageMaker
documentation lists them for serverless endpoints ("Alarms and logs for tracking metrics from
serverless endpoints"). ModelLatency and ModelSetupTime are in microseconds;
ServerlessConcurrentExecutionsUtilization has no unit (concurrent executions / max concurrency).
The alarms name endpoints, not resources, so they live apart from the endpoints' stacks and watch
an endpoint whichever stack (or hand) created it; they find the topic, and the dashboard finds
them, by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from animl_constructs.serverless_model_endpoint import VARIANT_NAME

NAMESPACE = "AWS/SageMaker"
PERIOD = Duration.minutes(5)
_MICROSECONDS = 1_000_000
ALARMS_PER_STATUS_WIDGET = 100


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


def endpoint_metric(
    endpoint: MonitoredEndpoint, metric_name: str, statistic: str
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map={
            "EndpointName": endpoint.endpoint_name,
            "VariantName": endpoint.variant_name,
        },
        statistic=statistic,
        period=PERIOD,
    )


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
        action = actions.SnsAction(sns.Topic.from_topic_arn(self, "Topic", topic_arn))
        self.alarms: list[cloudwatch.Alarm] = []
        for endpoint in props.endpoints:
            for alarmed, threshold in _thresholds(endpoint).items():
                name = alarm_name(endpoint, alarmed)
                alarm = cloudwatch.Alarm(
                    self,
                    name,
                    alarm_name=name,
                    alarm_description=f"{endpoint.endpoint_name}: {alarmed.description}",
                    metric=endpoint_metric(endpoint, alarmed.metric_name, alarmed.statistic),
                    threshold=threshold,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
                self.alarms.append(alarm)


class FleetMonitoring(Construct):
    """The environment's alarm topic (with its e-mail subscribers) and dashboard."""

    def __init__(self, scope: Construct, id_: str, *, props: FleetMonitoringProps) -> None:
        super().__init__(scope, id_)
        self.topic = self._topic(props)
        self.dashboard = self._dashboard(props)

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

    def _dashboard(self, props: FleetMonitoringProps) -> cloudwatch.Dashboard:
        def graph(
            title: str, metric_name: str, statistic: str, unit: str
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[
                    endpoint_metric(e, metric_name, statistic).with_(label=e.endpoint_name)
                    for e in props.endpoints
                ],
                left_y_axis=cloudwatch.YAxisProps(label=unit, show_units=False),
                width=12,
                legend_position=cloudwatch.LegendPosition.RIGHT,
            )

        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"animl-{props.name}-endpoints"
        )
        stack = Stack.of(self)
        alarms = [
            cloudwatch.Alarm.from_alarm_arn(
                self,
                name,
                stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
            for name in (alarm_name(e, a) for e in props.endpoints for a in _ALARMED)
        ]
        for start in range(0, len(alarms), ALARMS_PER_STATUS_WIDGET):
            chunk = alarms[start : start + ALARMS_PER_STATUS_WIDGET]
            dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(title="Alarms", alarms=chunk, width=24)
            )
        dashboard.add_widgets(
            graph("Invocations", "Invocations", "Sum", "count"),
            graph("5xx errors", "Invocation5XXErrors", "Sum", "count"),
        )
        dashboard.add_widgets(
            graph("Model latency (max)", "ModelLatency", "Maximum", "microseconds"),
            graph(
                "Cold start: model setup time (max)", "ModelSetupTime", "Maximum", "microseconds"
            ),
        )
        dashboard.add_widgets(
            graph(
                "Concurrency utilization (max)",
                "ServerlessConcurrentExecutionsUtilization",
                "Maximum",
                "fraction of max concurrency",
            ),
            graph("4xx answers", "Invocation4XXErrors", "Sum", "count"),
        )
        return dashboard
