"""One SageMaker Serverless Inference endpoint for one model, with its SSM parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Acknowledgment, ArnFormat, Stack, Tags, Validations
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from model_registry.naming import endpoint_name, parameter_name
from model_registry.schema import EndpointKind, EndpointSpec, ModelSpec

VARIANT_NAME = "AllTraffic"
BILLED_RESOURCE_TYPES = [
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
]


@dataclass(frozen=True)
class ServerlessModelEndpointProps:
    model: ModelSpec
    kind: EndpointKind
    stages: Sequence[str]
    containers_dir: Path

    @property
    def endpoint(self) -> EndpointSpec:
        spec = getattr(self.model.endpoints, self.kind)
        if spec is None:
            raise ValueError(f"model {self.model.name!r} declares no {self.kind} endpoint")
        return spec


class ServerlessModelEndpoint(Construct):
    """Image asset, execution role, Model, serverless EndpointConfig, Endpoint and SSM parameters.

    The Model and EndpointConfig have generated names: any change to them creates new ones, and
    CloudFormation then updates the named Endpoint in place to the new config.
    """

    def __init__(self, scope: Construct, id_: str, *, props: ServerlessModelEndpointProps) -> None:
        super().__init__(scope, id_)
        model, spec = props.model, props.endpoint
        stack = Stack.of(self)
        self.endpoint_name = endpoint_name(model.name, props.kind)

        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(props.containers_dir / model.container),
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"SageMaker execution role of the {self.endpoint_name} endpoint",
        )
        self.model_data_url = self._grant_artifact(model, stack.region)
        self.image.repository.grant_pull(self.role)
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permissions; "
                "image pulls themselves are limited to the asset repository",
            )
        )
        self._grant_own_logs(stack)

        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image.image_uri,
                model_data_url=self.model_data_url,
                environment=dict(spec.environment) or None,
            ),
        )
        # SageMaker checks the role's access to the image and artifact when the model is created.
        self.model.node.add_dependency(self.role)

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.attr_model_name,
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        max_concurrency=spec.max_concurrency,
                        memory_size_in_mb=spec.memory_mb,
                        provisioned_concurrency=spec.provisioned_concurrency,
                    ),
                )
            ],
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.parameters = {
            stage: ssm.StringParameter(
                self,
                f"Parameter-{stage}",
                parameter_name=parameter_name(model.name, props.kind, stage),
                # The attribute, not the plain name: the parameter is written once the endpoint exists.
                string_value=self.endpoint.attr_endpoint_name,
                description=f"SageMaker endpoint of {model.name} ({props.kind}) for the {stage} stage",
            )
            for stage in props.stages
        }
        # Cost-allocation tags on what SageMaker bills for.
        for key, value in (("animl:model", model.name), ("animl:endpoint", self.endpoint_name)):
            Tags.of(self).add(key, value, include_resource_types=BILLED_RESOURCE_TYPES)

    def _grant_artifact(self, model: ModelSpec, region: str) -> str:
        """Grants s3:GetObject on exactly the artifact object and returns its s3:// URL."""
        location = model.artifact_for(region)
        if model.artifact_is_local:
            asset = s3_assets.Asset(self, "Artifact", path=location)
            object_arn = asset.bucket.arn_for_objects(asset.s3_object_key)
            url = asset.s3_object_url
        else:
            bucket, key = location.removeprefix("s3://").split("/", 1)
            object_arn = f"arn:{Stack.of(self).partition}:s3:::{bucket}/{key}"
            url = location
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[object_arn])
        )
        return url

    def _grant_own_logs(self, stack: Stack) -> None:
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogGroup"], resources=[log_group])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[f"{log_group}:log-stream:*"],
            )
        )
        # cdk-nag names the finding with the partition as it appears in the template.
        finding = (
            f"arn:<AWS::Partition>:logs:{stack.region}:{stack.account}:log-group:"
            f"/aws/sagemaker/Endpoints/{self.endpoint_name}:log-stream:*"
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{finding}]",
                reason="SageMaker names the log streams after the instances it starts; the "
                "wildcard covers only streams inside this endpoint's own log group",
            )
        )
