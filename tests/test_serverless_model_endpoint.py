"""ServerlessModelEndpoint in a bare stack: its resources, their wiring and least privilege."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template

from animl_constructs.serverless_model_endpoint import (
    ImageFromFolder,
    ImageInEcr,
    ServerlessModelEndpoint,
    ServerlessModelEndpointProps,
)
from checkout import REPO_ROOT

ACCOUNT, REGION = "111122223333", "us-west-2"
ARTIFACT = "s3://animl-model-zoo-us-west-2/mirav2/2.0/model.tar.gz"
ECR_IMAGE = "830244800171.dkr.ecr.us-west-2.amazonaws.com/torchserve-mirav2:v2"


def props(**changes) -> ServerlessModelEndpointProps:
    """The props of a mirav2 batch endpoint, with `changes`; the construct needs no registry."""
    base: dict[str, Any] = {
        "endpoint_name": "mirav2-batch",
        "image": ImageFromFolder(REPO_ROOT / "containers" / "animl-serve"),
        "artifact": ARTIFACT,
        "memory_mb": 6144,
        "max_concurrency": 80,
        "parameters": {
            "dev": "/ml/mirav2-batch-endpoint-dev",
            "prod": "/ml/mirav2-batch-endpoint-prod",
        },
        "tags": {"animl:model": "mirav2", "animl:endpoint": "mirav2-batch"},
    }
    return ServerlessModelEndpointProps(**(base | changes))


def synth(
    endpoint_props: ServerlessModelEndpointProps, construct_id: str = "mirav2-batch"
) -> tuple[ServerlessModelEndpoint, Template]:
    stack = cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account=ACCOUNT, region=REGION))
    endpoint = ServerlessModelEndpoint(stack, construct_id, props=endpoint_props)
    return endpoint, Template.from_stack(stack)


@pytest.fixture(scope="module")
def mirav2_batch() -> tuple[ServerlessModelEndpoint, Template]:
    return synth(props())


def test_one_of_each_resource_and_a_parameter_per_stage(mirav2_batch):
    _, template = mirav2_batch
    for resource_type, count in {
        "AWS::SageMaker::Model": 1,
        "AWS::SageMaker::EndpointConfig": 1,
        "AWS::SageMaker::Endpoint": 1,
        "AWS::SSM::Parameter": 2,
        "AWS::IAM::Role": 1,
        "AWS::IAM::Policy": 0,
    }.items():
        template.resource_count_is(resource_type, count)
    assert len(template.to_json()["Resources"]) == 6


def test_endpoint_config_is_serverless_with_the_registry_values(mirav2_batch):
    endpoint, template = mirav2_batch
    model_id = cdk.Stack.of(endpoint).get_logical_id(endpoint.model)
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
                    "ServerlessConfig": {
                        "MaxConcurrency": 80,
                        "MemorySizeInMB": 6144,
                        "ProvisionedConcurrency": Match.absent(),
                    },
                    "InstanceType": Match.absent(),
                }
            ],
            # Generated name: a changed config is a new resource that the endpoint switches to.
            "EndpointConfigName": Match.absent(),
            "KmsKeyId": Match.absent(),
        },
    )


def test_endpoint_has_a_stable_name_and_points_at_the_config(mirav2_batch):
    endpoint, template = mirav2_batch
    config_id = cdk.Stack.of(endpoint).get_logical_id(endpoint.endpoint_config)
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": "mirav2-batch",
            "EndpointConfigName": {"Fn::GetAtt": [config_id, "EndpointConfigName"]},
        },
    )
    assert (
        cdk.Stack.of(endpoint).get_logical_id(endpoint.endpoint).startswith("mirav2batchEndpoint")
    )


def test_ssm_parameters_name_the_endpoint_for_each_stage(mirav2_batch):
    endpoint, template = mirav2_batch
    endpoint_id = cdk.Stack.of(endpoint).get_logical_id(endpoint.endpoint)
    for stage in ("dev", "prod"):
        template.has_resource_properties(
            "AWS::SSM::Parameter",
            {
                "Name": f"/ml/mirav2-batch-endpoint-{stage}",
                "Type": "String",
                "Value": {"Fn::GetAtt": [endpoint_id, "EndpointName"]},
            },
        )
    assert set(endpoint.parameters) == {"dev", "prod"}


def test_model_runs_the_image_asset_on_the_regional_artifact(mirav2_batch):
    endpoint, template = mirav2_batch
    image = Capture()
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "ExecutionRoleArn": {
                "Fn::GetAtt": [
                    cdk.Stack.of(endpoint).get_logical_id(endpoint.role.node.default_child),
                    "Arn",
                ]
            },
            "PrimaryContainer": {
                "Image": image,
                "ModelDataUrl": "s3://animl-model-zoo-us-west-2/mirav2/2.0/model.tar.gz",
                "Environment": Match.absent(),
            },
        },
    )
    assert f"{ACCOUNT}.dkr.ecr.{REGION}" in str(image.as_object())
    assert endpoint.image_asset is not None
    assert endpoint.image_asset.asset_hash in str(image.as_object())


def test_endpoints_of_a_stack_share_its_image_asset_and_each_stack_reads_its_own_region():
    app = cdk.App()
    stacks = [
        cdk.Stack(app, f"In-{region}", env=cdk.Environment(account=ACCOUNT, region=region))
        for region in (REGION, "eu-west-1")
    ]
    endpoints = [
        ServerlessModelEndpoint(scope, name, props=props(endpoint_name=name))
        for scope, name in [(stacks[0], "a"), (stacks[0], "b"), (stacks[1], "c")]
    ]
    assert endpoints[0].image_asset is endpoints[1].image_asset
    assert endpoints[2].image_asset is not endpoints[0].image_asset
    for scope, region in zip(stacks, (REGION, "eu-west-1"), strict=True):
        template = Template.from_stack(scope)
        for model in template.find_resources("AWS::SageMaker::Model").values():
            assert f"{ACCOUNT}.dkr.ecr.{region}" in str(model["Properties"]["PrimaryContainer"])
        for role in template.find_resources("AWS::IAM::Role").values():
            statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            assert any(f":logs:{region}:{ACCOUNT}:" in str(s["Resource"]) for s in statements)


def test_model_waits_for_the_role_policy(mirav2_batch):
    """The access is the role's own inline policy, and the model names the role: CloudFormation
    creates the model only once the role, and with it the access SageMaker checks, exists."""
    _, template = mirav2_batch
    (role_id,) = template.find_resources("AWS::IAM::Role")
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert model["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert _statements(template)


def _statements(template: Template) -> list[dict]:
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (policy,) = role["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def _arn(suffix: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, suffix]]}


def test_role_reads_only_its_artifact_pulls_only_its_image_and_writes_only_its_logs(mirav2_batch):
    _, template = mirav2_batch
    log_group = f":logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/mirav2-batch"
    assert _statements(template) == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": _arn(":s3:::animl-model-zoo-us-west-2/mirav2/2.0/model.tar.gz"),
        },
        {
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Effect": "Allow",
            "Resource": _arn(
                f":ecr:{REGION}:{ACCOUNT}:repository/cdk-hnb659fds-container-assets-{ACCOUNT}-{REGION}"
            ),
        },
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            "Effect": "Allow",
            "Resource": _arn(log_group),
        },
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": _arn(f"{log_group}:log-stream:*"),
        },
    ]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                    }
                ]
            },
            "ManagedPolicyArns": Match.absent(),
        },
    )


def test_nag_acknowledgements_are_specific_and_give_reasons(mirav2_batch):
    endpoint, _ = mirav2_batch
    acknowledged = {
        rule.split("::", 1)[1]: reason
        for entry in endpoint.role.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    }
    assert set(acknowledged) == {
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{REGION}:{ACCOUNT}:log-group:"
        "/aws/sagemaker/Endpoints/mirav2-batch:log-stream:*]",
    }
    assert all(len(reason) > 40 for reason in acknowledged.values())


def test_provisioned_concurrency_and_environment_reach_the_template():
    realtime = props(
        endpoint_name="mirav2-realtime",
        max_concurrency=20,
        provisioned_concurrency=2,
        environment={"ANIML_INTRA_OP_THREADS": "2"},
        parameters={"prod": "/ml/mirav2-realtime-endpoint-prod"},
    )
    _, template = synth(realtime, "mirav2-realtime")
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "ServerlessConfig": {
                            "MaxConcurrency": 20,
                            "MemorySizeInMB": 6144,
                            "ProvisionedConcurrency": 2,
                        }
                    }
                )
            ]
        },
    )
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": Match.object_like({"Environment": {"ANIML_INTRA_OP_THREADS": "2"}})},
    )
    template.resource_count_is("AWS::SSM::Parameter", 1)
    template.has_resource_properties(
        "AWS::SSM::Parameter", {"Name": "/ml/mirav2-realtime-endpoint-prod"}
    )


def test_local_artifact_ships_as_an_asset_and_only_that_object_is_readable(tmp_path: Path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"\x1f\x8b\x08\x00fake")
    _, template = synth(props(artifact=str(archive)))
    url = Capture()
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"PrimaryContainer": Match.object_like({"ModelDataUrl": url})}
    )
    assert url.as_string().startswith(f"s3://cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/")
    key = url.as_string().split("/", 3)[3]
    assert _statements(template)[0] == {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": _arn(f":s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/{key}"),
    }


def test_props_out_of_range_are_all_reported_at_once():
    bad = props(memory_mb=5000, max_concurrency=201, provisioned_concurrency=0)
    with pytest.raises(ValueError, match="Test/mirav2-batch") as caught:
        synth(bad)
    assert str(caught.value) == (
        "Test/mirav2-batch: memory_mb 5000 must be 1024..6144 in steps of 1024; "
        "max_concurrency 201 must be 1..200; provisioned_concurrency 0 must be 1..201"
    )


def test_an_image_in_ecr_is_pulled_from_exactly_its_repository():
    _, template = synth(
        props(image=ImageInEcr(ECR_IMAGE, "830244800171", "us-west-2", "torchserve-mirav2"))
    )
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"PrimaryContainer": Match.object_like({"Image": ECR_IMAGE})}
    )
    assert _statements(template)[1:3] == [
        {
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            "Effect": "Allow",
            "Resource": _arn(":ecr:us-west-2:830244800171:repository/torchserve-mirav2"),
        },
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"},
    ]
    assert not template.find_resources("AWS::ECR::Repository")


def test_without_parameters_the_endpoint_leaves_them_to_their_owner():
    _, template = synth(props(parameters={}))
    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::SageMaker::Endpoint", 1)


def test_parameters_carry_a_deletion_policy_so_that_they_can_be_imported(mirav2_batch):
    _, template = mirav2_batch
    for parameter in template.find_resources("AWS::SSM::Parameter").values():
        assert parameter["DeletionPolicy"] == "Delete"


def test_cost_tags_go_on_the_billed_sagemaker_resources_only(mirav2_batch):
    _, template = mirav2_batch
    expected_tags = Match.array_with(
        [
            {"Key": "animl:endpoint", "Value": "mirav2-batch"},
            {"Key": "animl:model", "Value": "mirav2"},
        ]
    )
    for resource_type in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
    ):
        template.has_resource_properties(resource_type, {"Tags": expected_tags})
    for parameter in template.find_resources("AWS::SSM::Parameter").values():
        assert "Tags" not in parameter["Properties"]


KEY = "arn:aws:kms:us-west-2:830244800171:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENDPOINT_KEY = "arn:aws:kms:us-west-2:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab"


def test_an_artifact_encrypted_with_a_kms_key_in_another_account_may_be_decrypted_with_it():
    _, template = synth(props(artifact_kms_key_arn=KEY))
    assert {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": KEY} in _statements(template)
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"KmsKeyId": Match.absent()})


def test_an_endpoint_key_encrypts_the_config_and_only_that_key_is_granted():
    _, template = synth(props(kms_key_arn=ENDPOINT_KEY))
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {"KmsKeyId": ENDPOINT_KEY})
    assert {
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"],
        "Effect": "Allow",
        "Resource": ENDPOINT_KEY,
    } in _statements(template)
