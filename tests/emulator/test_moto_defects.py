"""Each moto patch's defect, shown on plain moto and gone on the patched emulator.

When a test fails on plain moto, moto has fixed (or changed) what the patch works around: read the
patch's module in animl_emulator/moto_patches/ and delete it if it is no longer needed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from animl_emulator.emulator import Emulator, running_emulator

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/animl-serve:1"
CHANGE_SET = "cdk-deploy-change-set"


@pytest.fixture(scope="module", params=["plain", "patched"])
def server(request, tmp_path_factory) -> Iterator[tuple[str, Emulator]]:
    plain = request.param == "plain"
    with running_emulator(tmp_path_factory.mktemp(request.param), plain=plain) as emulator:
        yield request.param, emulator


def client(emulator: Emulator, service: str):
    # No retries: moto answers some defects with a 500, which botocore would retry for seconds.
    return emulator.session(emulator.default_account, REGION).client(
        service, endpoint_url=emulator.url, config=Config(retries={"max_attempts": 1})
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_code(call) -> str | None:
    """The AWS error code of `call`, "500" for moto's HTML error page, None on success."""
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"]
    except (BotoCoreError, ResponseParserError):
        return "500"
    return None


def parameter(name: str, value: str) -> dict:
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": name, "Type": "String", "Value": value},
    }


def template(resources: dict, parameters: dict | None = None) -> str:
    return json.dumps({"Parameters": parameters or {}, "Resources": resources})


def expect(server: tuple[str, Emulator], defects: list[str], on_plain_moto: list[str]) -> None:
    kind, _ = server
    assert defects == (on_plain_moto if kind == "plain" else [])


def test_change_set_lookup(server):
    cloudformation = client(server[1], "cloudformation")
    first, second = unique("first"), unique("second")
    for stack, name in ((first, unique("a")), (second, unique("b"))):
        cloudformation.create_change_set(
            StackName=stack,
            ChangeSetName=CHANGE_SET,
            ChangeSetType="CREATE",
            TemplateBody=template({"P": parameter(f"/{name}", "1")}),
        )
    described = cloudformation.describe_change_set(StackName=first, ChangeSetName=CHANGE_SET)
    missing = {"StackName": first, "ChangeSetName": unique("missing")}
    defects = []
    if described["StackName"] != first:
        defects.append("looked up across stacks")
    if error_code(lambda: cloudformation.describe_change_set(**missing)) != "ChangeSetNotFound":
        defects.append("a missing set is no ChangeSetNotFound")
    if error_code(lambda: cloudformation.delete_change_set(**missing)) is not None:
        defects.append("deleting a missing set fails")
    expect(
        server,
        defects,
        ["looked up across stacks", "a missing set is no ChangeSetNotFound",
         "deleting a missing set fails"],
    )  # fmt: skip


def test_executed_change_sets(server):
    cloudformation = client(server[1], "cloudformation")
    stack, other = unique("executed"), unique("other")
    for name in (stack, other):
        cloudformation.create_change_set(
            StackName=name, ChangeSetName=CHANGE_SET, ChangeSetType="CREATE",
            TemplateBody=template({"P": parameter(f"/{unique('p')}", "1")}),
        )  # fmt: skip
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=CHANGE_SET)
    listed = cloudformation.list_change_sets(StackName=stack)["Summaries"]
    defects = []
    if any(c["StackName"] != stack for c in listed):
        defects.append("listed across stacks")
    if any(c["StackName"] == stack for c in listed):
        defects.append("an executed stack keeps its change sets")
    expect(server, defects, ["listed across stacks", "an executed stack keeps its change sets"])


def test_resolved_ssm_parameters(server):
    emulator = server[1]
    cloudformation, ssm = client(emulator, "cloudformation"), client(emulator, "ssm")
    path, stack, change_set = f"/{unique('bootstrap')}/version", unique("stack"), unique("update")
    ssm.put_parameter(Name=path, Value="29", Type="String")
    bootstrap = {
        "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": path}
    }
    name = f"/{unique('p')}"
    cloudformation.create_stack(
        StackName=stack, TemplateBody=template({"P": parameter(name, "1")}, bootstrap)
    )
    # As the CDK CLI updates a stack: a change set that keeps the previous BootstrapVersion.
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE",
        TemplateBody=template({"P": parameter(name, "2")}, bootstrap),
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )
    update = lambda: cloudformation.execute_change_set(  # noqa: E731
        StackName=stack, ChangeSetName=change_set
    )
    defects = ["a resolved previous value is looked up again"] if error_code(update) else []
    expect(server, defects, ["a resolved previous value is looked up again"])


def endpoint_resources(max_concurrency: int, **endpoint: str) -> dict:
    """A model, its serverless config and an endpoint on it, as the CDK app writes them."""
    return {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {"ExecutionRoleArn": ROLE_ARN, "PrimaryContainer": {"Image": IMAGE}},
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "ServerlessConfig": {
                            "MaxConcurrency": max_concurrency,
                            "MemorySizeInMB": 2048,
                        },
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": endpoint
            | {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
        },
    }


def test_dependent_updates(server):
    emulator = server[1]
    cloudformation, sagemaker = client(emulator, "cloudformation"), client(emulator, "sagemaker")
    stack = unique("stack")

    cloudformation.create_stack(StackName=stack, TemplateBody=template(endpoint_resources(5)))
    cloudformation.update_stack(StackName=stack, TemplateBody=template(endpoint_resources(6)))
    (endpoint,) = sagemaker.list_endpoints(NameContains=stack)["Endpoints"]
    config = sagemaker.describe_endpoint(EndpointName=endpoint["EndpointName"])[
        "EndpointConfigName"
    ]
    current = lambda: sagemaker.describe_endpoint_config(EndpointConfigName=config)  # noqa: E731
    defects = ["the endpoint stays on the replaced config"] if error_code(current) else []
    expect(server, defects, ["the endpoint stays on the replaced config"])


def test_endpoint_name_property(server):
    emulator = server[1]
    cloudformation, sagemaker = client(emulator, "cloudformation"), client(emulator, "sagemaker")
    name = unique("named")
    resources = endpoint_resources(5, EndpointName=name)
    cloudformation.create_stack(StackName=unique("stack"), TemplateBody=template(resources))
    named = error_code(lambda: sagemaker.describe_endpoint(EndpointName=name)) is None
    expect(server, [] if named else ["the endpoint ignores its EndpointName"],
           ["the endpoint ignores its EndpointName"])  # fmt: skip


def test_update_endpoint(server):
    sagemaker = client(server[1], "sagemaker")
    name = unique("endpoint")
    sagemaker.create_model(
        ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": IMAGE}
    )
    for config, concurrency in ((f"{name}-80", 80), (f"{name}-60", 60)):
        sagemaker.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": concurrency},
                }
            ],
        )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-80")
    update = lambda: sagemaker.update_endpoint(  # noqa: E731
        EndpointName=name, EndpointConfigName=f"{name}-60"
    )
    failed = error_code(update) is not None
    now = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    defects = ["no UpdateEndpoint"] if failed or now != f"{name}-60" else []
    expect(server, defects, ["no UpdateEndpoint"])


def test_import_change_sets(server):
    emulator = server[1]
    cloudformation, ssm = client(emulator, "cloudformation"), client(emulator, "ssm")
    stack, kept, adopted = unique("stack"), f"/{unique('kept')}", f"/{unique('adopted')}"
    cloudformation.create_stack(
        StackName=stack, TemplateBody=template({"Kept": parameter(kept, "1")})
    )
    ssm.put_parameter(Name=adopted, Value="typed-by-hand", Type="String")
    resources = {
        "Kept": parameter(kept, "1"),
        "Adopted": parameter(adopted, "typed-by-hand") | {"DeletionPolicy": "Delete"},
    }
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName="import",
        ChangeSetType="IMPORT",
        TemplateBody=template(resources),
        ResourcesToImport=[
            {
                "ResourceType": "AWS::SSM::Parameter",
                "LogicalResourceId": "Adopted",
                "ResourceIdentifier": {"Name": adopted},
            }
        ],
    )
    execute = lambda: cloudformation.execute_change_set(  # noqa: E731
        StackName=stack, ChangeSetName="import"
    )
    defects = []
    if error_code(execute) is not None:
        defects.append("the import fails")
    live = [s for s in cloudformation.list_stacks()["StackSummaries"] if s["StackName"] == stack]
    if len([s for s in live if not s["StackStatus"].startswith("DELETE")]) != 1:
        defects.append("a second stack of the same name")
    expect(server, defects, ["the import fails", "a second stack of the same name"])


def test_alarm_resource(server):
    emulator = server[1]
    cloudformation, cloudwatch = client(emulator, "cloudformation"), client(emulator, "cloudwatch")
    name = unique("alarm")
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "Namespace": "AWS/SageMaker",
            "MetricName": "Invocation5XXErrors",
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 1,
            "Period": 300,
            "Threshold": 5,
            "Statistic": "Sum",
        },
    }
    cloudformation.create_stack(StackName=unique("stack"), TemplateBody=template({"Alarm": alarm}))
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    expect(server, [] if found else ["the stack deploys without its alarm"],
           ["the stack deploys without its alarm"])  # fmt: skip


def test_binary_invoke_body(server):
    runtime = client(server[1], "sagemaker-runtime")
    jpeg_start = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    invoke = lambda: runtime.invoke_endpoint(  # noqa: E731
        EndpointName=unique("endpoint"), Body=jpeg_start, ContentType="image/jpeg"
    )
    defects = ["a binary body is answered with an error"] if error_code(invoke) else []
    expect(server, defects, ["a binary body is answered with an error"])


def test_metric_percentiles(server):
    cloudwatch = client(server[1], "cloudwatch")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    dimensions = [{"Name": "EndpointName", "Value": unique("endpoint")}]
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": "ModelLatency", "Dimensions": dimensions, "Value": float(v),
             "Timestamp": now - timedelta(minutes=30)}
            for v in range(1, 101)
        ],
    )  # fmt: skip
    query = {"Id": "p99", "MetricStat": {"Stat": "p99", "Period": 3600, "Metric": {
        "Namespace": "AWS/SageMaker", "MetricName": "ModelLatency", "Dimensions": dimensions}}}  # fmt: skip
    answer: list = []

    def read() -> None:
        answer.append(
            cloudwatch.get_metric_data(
                MetricDataQueries=[query], StartTime=now - timedelta(hours=1), EndTime=now
            )["MetricDataResults"][0]["Values"]
        )

    defects = ["p99 is answered with an error"] if error_code(read) else []
    expect(server, defects, ["p99 is answered with an error"])
    if not defects:
        assert answer == [[99.0]]
