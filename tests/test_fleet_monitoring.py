"""FleetMonitoring and EndpointAlarms in a bare stack: four alarms per endpoint, the topic they
notify, the dashboard that shows them."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from animl_constructs.fleet_monitoring import (
    EndpointAlarms,
    EndpointAlarmsProps,
    FleetMonitoring,
    FleetMonitoringProps,
    MonitoredEndpoint,
)
from model_registry.loader import load_fleet
from stacks.monitoring_stacks import EndpointAlarmsStack, MonitoringStack

ACCOUNT, REGION = "111122223333", "us-west-2"


def endpoint(name: str, **changes) -> MonitoredEndpoint:
    thresholds = {
        "invocation_5xx_errors": 5,
        "model_setup_seconds": 150,
        "model_latency_seconds": 45,
        "concurrency_utilization": 0.9,
    }
    return MonitoredEndpoint(endpoint_name=name, **(thresholds | changes))


@pytest.fixture(scope="module")
def template() -> Template:
    stack = cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account=ACCOUNT, region=REGION))
    endpoints = [endpoint("mirav2-batch"), endpoint("nzdoc-batch", model_latency_seconds=20)]
    props = FleetMonitoringProps(
        name="animl", endpoints=endpoints, alarm_emails=["ops@example.org", "oncall@example.org"]
    )
    FleetMonitoring(stack, "Monitoring", props=props)
    alarm_props = EndpointAlarmsProps(topic_name="animl-animl-alarms", endpoints=endpoints)
    EndpointAlarms(stack, "Alarms", props=alarm_props)
    return Template.from_stack(stack)


def resolved(value) -> str:
    """A Fn::Join of strings, partition and region, as CloudFormation resolves it."""
    pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION}
    return "".join(p if isinstance(p, str) else pseudo[p["Ref"]] for p in value["Fn::Join"][1])


def alarms(template: Template) -> dict[str, dict]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_four_alarms_per_endpoint_on_its_own_dimensions(template):
    found = alarms(template)
    assert sorted(found) == sorted(
        f"{name}-{suffix}"
        for name in ("mirav2-batch", "nzdoc-batch")
        for suffix in ("5xx-errors", "setup-time", "model-latency", "concurrency")
    )
    for name, alarm in found.items():
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["Period"] == 300
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["VariantName"] == "AllTraffic"
        assert name.startswith(dimensions["EndpointName"] + "-")


def test_thresholds_are_in_the_metrics_units(template):
    found = alarms(template)
    expected = {
        "mirav2-batch-5xx-errors": ("Invocation5XXErrors", "Sum", 5),
        "mirav2-batch-setup-time": ("ModelSetupTime", "Maximum", 150_000_000),
        "mirav2-batch-model-latency": ("ModelLatency", "Maximum", 45_000_000),
        "nzdoc-batch-model-latency": ("ModelLatency", "Maximum", 20_000_000),
        "mirav2-batch-concurrency": ("ServerlessConcurrentExecutionsUtilization", "Maximum", 0.9),
    }
    for name, (metric, statistic, threshold) in expected.items():
        alarm = found[name]
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (
            metric,
            statistic,
            threshold,
        )


def test_alarms_notify_an_encrypted_topic_and_its_subscribers(template):
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:animl-animl-alarms"
    for alarm in alarms(template).values():
        assert [resolved(a) for a in alarm["AlarmActions"]] == [topic_arn]
        assert [resolved(a) for a in alarm["OKActions"]] == [topic_arn]
    (key_id,) = template.find_resources(
        "AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}}
    )
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "animl-animl-alarms", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Resource": "*",
                        }
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                            }
                        ),
                    ]
                )
            }
        },
    )
    subscribers = template.find_resources("AWS::SNS::Subscription")
    assert sorted(s["Properties"]["Endpoint"] for s in subscribers.values()) == [
        "oncall@example.org",
        "ops@example.org",
    ]
    assert {s["Properties"]["Protocol"] for s in subscribers.values()} == {"email"}


def test_the_dashboard_graphs_every_metric_for_every_endpoint(template):
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "animl-animl-endpoints"
    widgets = json.loads(resolved(dashboard["Properties"]["DashboardBody"]))["widgets"]
    graphs = {
        w["properties"]["title"]: w["properties"]["metrics"]
        for w in widgets
        if w["type"] == "metric"
    }
    for title, metric in {
        "Invocations": "Invocations",
        "5xx errors": "Invocation5XXErrors",
        "Model latency (max)": "ModelLatency",
        "Cold start: model setup time (max)": "ModelSetupTime",
        "Concurrency utilization (max)": "ServerlessConcurrentExecutionsUtilization",
    }.items():
        lines = graphs[title]
        assert [(line[1], line[3]) for line in lines] == [
            (metric, "mirav2-batch"),
            (metric, "nzdoc-batch"),
        ]
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(status["properties"]["alarms"]) == sorted(
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in alarms(template)
    )


def test_the_registry_sets_thresholds_per_endpoint_and_subscribers_per_environment(registry):
    registry.edit_model(
        "mirav2", lambda m: m["endpoints"]["batch"].update(alarms={"model_latency_seconds": 30})
    )
    environments = registry.environments()
    environments["environments"][1]["alarm_emails"] = ["partner-ops@example.org"]
    registry.write_environments(environments)
    fleet = load_fleet(registry.root)
    (partner,) = [e for e in fleet.environments if e.name == "partner-example"]

    app, models = cdk.App(), fleet.models_of(partner)
    alarms_stack = EndpointAlarmsStack(
        app, "a", environment=partner, models=models, description="alarms"
    )
    monitoring = MonitoringStack(
        app, "m", environment=partner, models=models, description="monitoring"
    )
    found = alarms(Template.from_stack(alarms_stack))
    assert found["mirav2-batch-model-latency"]["Threshold"] == 30_000_000
    assert found["mirav2-realtime-model-latency"]["Threshold"] == 45_000_000
    Template.from_stack(monitoring).has_resource_properties(
        "AWS::SNS::Subscription", {"Endpoint": "partner-ops@example.org", "Protocol": "email"}
    )
