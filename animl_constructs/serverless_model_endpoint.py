"""One SageMaker Serverless Inference endpoint, with its SSM parameters.

The props are the service's own concepts, flat and typed, as the aws-cdk SageMaker L2 constructs
take them: the construct knows nothing of the model registry (stacks/endpoint_props.py maps a
registry entry to these props).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from aws_cdk import Acknowledgment, CfnTag, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from animl_constructs.construct_ids import CONFIG_ID, ENDPOINT_ID, MODEL_ID, parameter_id
from animl_contract import limits

ECR_PULL_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
]
KMS_ENDPOINT_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]


@dataclass(frozen=True)
class ImageFromFolder:
    """A folder with a Dockerfile, built and pushed to the bootstrap repository on deploy."""

    directory: Path


@dataclass(frozen=True)
class ImageInEcr:
    """An image that already exists in Amazon ECR (by tag or digest)."""

    uri: str
    account: str
    region: str
    repository: str


ImageSource = ImageFromFolder | ImageInEcr


@dataclass(frozen=True, kw_only=True)
class ServerlessModelEndpointProps:
    """artifact: an s3:// URI in the endpoint's region, or a local model.tar.gz (an asset).
    parameters: the SSM parameters that name the endpoint, by stage; none while someone else
    owns them (a take-over in progress).
    """

    endpoint_name: str
    image: ImageSource
    artifact: str
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The key of an SSE-KMS artifact; the role may decrypt with exactly it.
    artifact_kms_key_arn: str | None = None
    #: The endpoint config's KmsKeyId (SageMaker encrypts a serverless endpoint's image with it).
    kms_key_arn: str | None = None

    def problems(self) -> list[str]:
        """Every range SageMaker enforces, checked at once."""
        found = []
        lo, hi, step = limits.MEMORY_MB_MIN, limits.MEMORY_MB_MAX, limits.MEMORY_MB_STEP
        if not (lo <= self.memory_mb <= hi and self.memory_mb % step == 0):
            found.append(f"memory_mb {self.memory_mb} must be {lo}..{hi} in steps of {step}")
        if not limits.MAX_CONCURRENCY_MIN <= self.max_concurrency <= limits.MAX_CONCURRENCY_MAX:
            found.append(
                f"max_concurrency {self.max_concurrency} must be "
                f"{limits.MAX_CONCURRENCY_MIN}..{limits.MAX_CONCURRENCY_MAX}"
            )
        p = self.provisioned_concurrency
        if p is not None and not 1 <= p <= self.max_concurrency:
            found.append(f"provisioned_concurrency {p} must be 1..{self.max_concurrency}")
        if not 1 <= len(self.endpoint_name) <= limits.ENDPOINT_NAME_MAX_CHARS:
            found.append(f"endpoint_name {self.endpoint_name!r} must be 1..63 characters")
        return found


class ServerlessModelEndpoint(Construct):
    """Execution role, Model, serverless EndpointConfig, Endpoint and SSM parameters.

    The Model and EndpointConfig have generated names: any change to them creates new ones, and
    CloudFormation then updates the named Endpoint in place to the new config.
    """

    def __init__(self, scope: Construct, id_: str, *, props: ServerlessModelEndpointProps) -> None:
        super().__init__(scope, id_)
        if problems := props.problems():
            raise ValueError(f"{self.node.path}: " + "; ".join(problems))
        stack = Stack.of(self)
        shared = _SharedPerStack.of(stack)
        self.endpoint_name = props.endpoint_name
        self.image_asset: ecr_assets.DockerImageAsset | None = None
        self.model_data_url, artifact_arn = self._artifact(props.artifact, shared)
        image_uri, repository_arn = self._image(props.image, stack, shared)
        log_group = f"{shared.log_group_arn_prefix}/aws/sagemaker/Endpoints/{self.endpoint_name}"
        statements = [
            _allow(["s3:GetObject"], artifact_arn),
            *(_allow(["kms:Decrypt"], k) for k in [props.artifact_kms_key_arn] if k),
            *(_allow(KMS_ENDPOINT_KEY_ACTIONS, k) for k in [props.kms_key_arn] if k),
            _allow(ECR_PULL_ACTIONS, repository_arn),
            _allow(["ecr:GetAuthorizationToken"], "*"),
            # DescribeLogStreams acts on the log group, the other two on its streams.
            _allow(["logs:CreateLogGroup", "logs:DescribeLogStreams"], log_group),
            _allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group}:log-stream:*"),
        ]
        # One inline policy, part of the role: the model, which names the role, is created only
        # once the access SageMaker checks then (image and artifact) exists.
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=shared.sagemaker_principal,
            description=f"SageMaker execution role of the {self.endpoint_name} endpoint",
            inline_policies={
                "EndpointAccess": iam.PolicyDocument.from_json(
                    {"Version": "2012-10-17", "Statement": statements}
                )
            },
        )
        self._acknowledge_wildcards(shared)
        tags = [CfnTag(key=k, value=v) for k, v in props.tags.items()] or None

        self.model = sagemaker.CfnModel(
            self,
            MODEL_ID,
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri,
                model_data_url=self.model_data_url,
                environment=dict(props.environment) or None,
            ),
            tags=tags,
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            CONFIG_ID,
            kms_key_id=props.kms_key_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=limits.VARIANT_NAME,
                    model_name=self.model.attr_model_name,
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        max_concurrency=props.max_concurrency,
                        memory_size_in_mb=props.memory_mb,
                        provisioned_concurrency=props.provisioned_concurrency,
                    ),
                )
            ],
            tags=tags,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            ENDPOINT_ID,
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            tags=tags,
        )
        # The attribute, not the plain name: the parameters are written once the endpoint exists.
        created_name = self.endpoint.attr_endpoint_name
        self.parameters = {
            stage: self._parameter(stage, name, created_name)
            for stage, name in props.parameters.items()
        }

    def _parameter(self, stage: str, name: str, value: str) -> ssm.StringParameter:
        parameter = ssm.StringParameter(
            self,
            parameter_id(stage),
            parameter_name=name,
            string_value=value,
            description=f"SageMaker endpoint {self.endpoint_name} for the {stage} stage",
        )
        # An explicit deletion policy: CloudFormation requires one to import a parameter.
        parameter.apply_removal_policy(RemovalPolicy.DESTROY)
        return parameter

    def _image(self, image: ImageSource, stack: Stack, shared: _SharedPerStack) -> tuple[str, str]:
        """The image URI, and the ARN of the one repository the role may pull from."""
        if isinstance(image, ImageFromFolder):
            image_asset = shared.image_asset(stack, image.directory)
            self.image_asset = image_asset.asset
            return image_asset.image_uri, image_asset.repository_arn
        repository = (
            f"arn:{shared.partition}:ecr:{image.region}:{image.account}:"
            f"repository/{image.repository}"
        )
        return image.uri, repository

    def _artifact(self, artifact: str, shared: _SharedPerStack) -> tuple[str, str]:
        """The artifact's s3:// URL, and the ARN of exactly that object."""
        if not artifact.startswith("s3://"):
            asset = s3_assets.Asset(self, "Artifact", path=artifact)
            return asset.s3_object_url, asset.bucket.arn_for_objects(asset.s3_object_key)
        bucket, key = artifact.removeprefix("s3://").split("/", 1)
        return artifact, f"arn:{shared.partition}:s3:::{bucket}/{key}"

    def _acknowledge_wildcards(self, shared: _SharedPerStack) -> None:
        # cdk-nag names the finding with the partition as it appears in the template.
        log_streams = (
            f"arn:<AWS::Partition>:logs:{shared.region}:{shared.account}:log-group:"
            f"/aws/sagemaker/Endpoints/{self.endpoint_name}:log-stream:*"
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permissions; "
                "image pulls themselves are limited to the image's repository",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{log_streams}]",
                reason="SageMaker names the log streams after the instances it starts; the "
                "wildcard covers only streams inside this endpoint's own log group",
            ),
        )


def _allow(actions: list[str], resource: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": actions[0] if len(actions) == 1 else actions,
        "Resource": resource,
    }


@dataclass(frozen=True)
class _SharedImage:
    asset: ecr_assets.DockerImageAsset
    image_uri: str
    repository_arn: str


class _SharedPerStack:
    """What every endpoint of a stack reads from it or shares, made once per stack: each read is a
    call into the CDK's Node.js process, and those calls were most of an endpoint's synthesis time.
    Holds no reference to the stack, its weak key."""

    _by_stack: ClassVar[WeakKeyDictionary[Stack, _SharedPerStack]] = WeakKeyDictionary()

    def __init__(self, stack: Stack) -> None:
        self.partition = stack.partition
        self.region = stack.region
        self.account = stack.account
        self.log_group_arn_prefix = (
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
        )
        self.sagemaker_principal = iam.ServicePrincipal("sagemaker.amazonaws.com")
        self._images: dict[Path, _SharedImage] = {}

    @classmethod
    def of(cls, stack: Stack) -> _SharedPerStack:
        if stack not in cls._by_stack:
            cls._by_stack[stack] = cls(stack)
        return cls._by_stack[stack]

    def image_asset(self, stack: Stack, directory: Path) -> _SharedImage:
        """One asset per stack and folder, shared by its endpoints: every asset fingerprints the
        whole folder at synthesis, and the image (named by that fingerprint) is the same for all."""
        key = directory.resolve()
        if key not in self._images:
            asset = ecr_assets.DockerImageAsset(
                stack,
                f"Image-{hashlib.sha256(str(key).encode()).hexdigest()[:12]}",
                directory=str(directory),
                platform=ecr_assets.Platform.LINUX_AMD64,
            )
            self._images[key] = _SharedImage(
                asset, asset.image_uri, asset.repository.repository_arn
            )
        return self._images[key]
