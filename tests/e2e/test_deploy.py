"""Real deploys: `npx cdk` bootstrap, deploy, diff and destroy against the AWS API emulator."""

from __future__ import annotations

import re

from animl_emulator.deployment import Deployment
from animl_ops.inventory import Inventory
from tests.registries import ANIML_ACCOUNT

ALARMED_METRICS = (
    "Invocation5XXErrors",
    "ModelSetupTime",
    "ModelLatency",
    "ServerlessConcurrentExecutionsUtilization",
)
ECR_ASSETS_REPOSITORY = f"cdk-hnb659fds-container-assets-{ANIML_ACCOUNT}-us-west-2"


def assert_matches_registry(deployment: Deployment, inventory: Inventory) -> None:
    """Every stage's parameter names an endpoint in service whose serverless config is the registry's."""
    planned = deployment.planned()
    for endpoint in planned:
        for parameter in endpoint.parameters:
            assert parameter in inventory.parameters, f"{parameter} is missing"
            deployed = inventory.endpoints.get(inventory.parameters[parameter])
            assert deployed is not None, f"{parameter} names no endpoint"
            assert deployed.status == "InService"
            assert (deployed.memory_mb, deployed.max_concurrency) == (
                endpoint.memory_mb,
                endpoint.max_concurrency,
            ), f"{parameter}: {deployed}"
    assert len(inventory.parameters) == sum(len(e.parameters) for e in planned)
    assert len(inventory.endpoints) == len(planned)


def test_deploy_creates_every_endpoint_and_parameter_of_the_registry(animl):
    inventory = animl.inventory()
    assert_matches_registry(animl, inventory)
    assert len(inventory.parameters) == 40
    assert inventory.serverless_concurrency() == 940
    assert len(inventory.config_names) == len(inventory.model_names) == 20

    # The image asset went through the Docker CLI: one build of the container folder, one push.
    calls = animl.cli.docker_calls()
    (build,) = [c for c in calls if c["command"] == "build"]
    assert build["platform"] == "linux/amd64"
    assert build["context"].endswith(build["tag"].replace("cdkasset-", "asset."))
    (push,) = [c for c in calls if c["command"] == "push"]
    assert f"/{ECR_ASSETS_REPOSITORY}:" in push["image"]


def test_a_concurrency_change_updates_the_endpoint_in_place(animl, registry):
    before = animl.inventory()
    parameter = "/ml/mirav2-batch-endpoint-prod"
    endpoint = before.parameters[parameter]
    old_config = before.endpoints[endpoint].config_name

    registry.edit_model("mirav2", lambda m: m["endpoints"]["batch"].update(max_concurrency=60))
    assembly = animl.synth("concurrency-60")
    diff = animl.cli.diff(assembly, animl.stacks)
    assert re.search(r"\[~\] AWS::SageMaker::EndpointConfig mirav2-batch/Config \S+ replace", diff)
    assert '[-]   "MaxConcurrency": 80,' in diff
    assert '[+]   "MaxConcurrency": 60,' in diff
    assert "Number of stacks with differences: 1" in diff
    assert not re.search(r"AWS::SageMaker::Endpoint .*(replace|destroy)", diff)

    animl.deploy(assembly)
    after = animl.inventory()
    assert after.parameters == before.parameters
    assert after.endpoints[endpoint].max_concurrency == 60
    new_config = after.endpoints[endpoint].config_name
    assert new_config != old_config
    assert after.config_names == before.config_names - {old_config} | {new_config}
    unchanged = {name: e for name, e in before.endpoints.items() if name != endpoint}
    assert {name: after.endpoints[name] for name in unchanged} == unchanged
    assert_matches_registry(animl, after)


def test_removing_a_model_deletes_its_resources_and_nothing_else(animl, registry):
    before = animl.inventory()
    removed = {p: v for p, v in before.parameters.items() if p.startswith("/ml/nzdoc-")}
    assert sorted(removed) == ["/ml/nzdoc-batch-endpoint-dev", "/ml/nzdoc-batch-endpoint-prod"]
    (endpoint,) = set(removed.values())
    config = before.endpoints[endpoint].config_name

    (registry.models / "nzdoc.yaml").unlink()
    animl.deploy(animl.synth("without-nzdoc"))
    after = animl.inventory()

    assert after.parameters == {p: v for p, v in before.parameters.items() if p not in removed}
    assert after.endpoints == {n: e for n, e in before.endpoints.items() if n != endpoint}
    assert after.config_names == before.config_names - {config}
    assert len(after.model_names) == len(before.model_names) - 1
    assert_matches_registry(animl, after)


def test_the_monitoring_stack_watches_every_endpoint(animl):
    animl.cli.deploy(animl.synth("monitoring"), *animl.monitoring_stacks)
    endpoints = {e.name for e in animl.planned()}
    cloudwatch = animl.emulator.client("cloudwatch", animl.account, animl.region)
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert len(alarms) == 4 * len(endpoints)
    watched = {(a["MetricName"], a["Dimensions"][0]["Value"]) for a in alarms}
    for metric in ALARMED_METRICS:
        assert {name for m, name in watched if m == metric} == endpoints, metric
    sns = animl.emulator.client("sns", animl.account, animl.region)
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert topic.endswith(":animl-animl-alarms")
    assert {action for a in alarms for action in a["AlarmActions"]} == {topic}
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    (dashboard,) = cloudwatch.list_dashboards()["DashboardEntries"]
    body = cloudwatch.get_dashboard(DashboardName=dashboard["DashboardName"])["DashboardBody"]
    assert all(f'"{name}"' in body for name in endpoints)
    assert {a["AlarmArn"] for a in alarms} <= set(re.findall(r"arn:aws:cloudwatch:[^\"]+", body))


def test_destroy_leaves_nothing_of_ours(animl):
    animl.cli.destroy(animl.synth("destroy"), animl.stacks, *animl.monitoring_stacks)
    inventory = animl.inventory()
    assert inventory.endpoints == {}
    assert inventory.config_names == inventory.model_names == frozenset()
    assert inventory.parameters == {}
    cloudformation = animl.emulator.client("cloudformation", animl.account, animl.region)
    live = [
        s["StackName"]
        for s in cloudformation.describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == ["CDKToolkit"]
    cloudwatch = animl.emulator.client("cloudwatch", animl.account, animl.region)
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    iam = animl.emulator.client("iam", animl.account, animl.region)
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("animl-")]
