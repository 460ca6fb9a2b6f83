"""The synthesis baseline: a hand-written L1 app of N serverless endpoints (model, config, endpoint
and two SSM parameters each, one shared role per stack, no image asset, no cdk-nag, no guard),
spread over SHARDS stacks as ours are. `synth_time.py` runs it.

    python benchmarks/l1_baseline.py N SHARDS
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/animl-serve:1"


def endpoint(stack: cdk.Stack, role: iam.CfnRole, name: str) -> None:
    model = sagemaker.CfnModel(
        stack,
        f"{name}Model",
        execution_role_arn=role.attr_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=IMAGE, model_data_url=f"s3://animl-model-zoo/{name}/model.tar.gz"
        ),
    )
    config = sagemaker.CfnEndpointConfig(
        stack,
        f"{name}Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name=model.attr_model_name,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=5, memory_size_in_mb=2048
                ),
            )
        ],
    )
    served = sagemaker.CfnEndpoint(
        stack,
        f"{name}Endpoint",
        endpoint_name=name,
        endpoint_config_name=config.attr_endpoint_config_name,
    )
    for stage in ("dev", "prod"):
        ssm.CfnParameter(
            stack,
            f"{name}{stage}",
            name=f"/ml/{name}-endpoint-{stage}",
            type="String",
            value=served.attr_endpoint_name,
        )


def main(endpoints: int, shards: int) -> None:
    app = cdk.App()
    env = cdk.Environment(account="123456789012", region="us-east-1")
    stacks = [cdk.Stack(app, f"l1-{i:02d}", env=env) for i in range(shards)]
    roles = [
        iam.CfnRole(
            stack,
            "Role",
            assume_role_policy_document={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
        )
        for stack in stacks
    ]
    for i in range(endpoints):
        endpoint(stacks[i % shards], roles[i % shards], f"model{i:03d}")
    app.synth()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
