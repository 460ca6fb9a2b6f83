"""Animl's fleet as the deploy notebooks made it: per endpoint a model, a serverless config and an
endpoint named <model>-concurrency-<N> (SpeciesNet's speciesnet-v4-0-1a), and the SSM parameters
typed in by hand. The registry copy runs the same images (bring your own)."""

from __future__ import annotations

from dataclasses import dataclass

from animl_emulator.emulator import Account, Emulator
from model_registry.loader import load_fleet
from model_registry.naming import parameter_name
from tests.registries import RegistryCopy

IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/animl-{model}:prod"


def with_own_images(registry: RegistryCopy, account: str, region: str) -> None:
    """Every model runs the image its hand-made endpoint runs; only the Animl environment."""
    for path in registry.models.glob("*.yaml"):
        name = path.stem

        def edit(model: dict, name: str = name) -> None:
            model.pop("container", None)
            model["image"] = IMAGE.format(account=account, region=region, model=name)

        registry.edit_model(name, edit)
    environments = registry.environments()
    environments["environments"] = [e for e in environments["environments"] if e["name"] == "animl"]
    registry.write_environments(environments)


def handmade_name(model: str, kind: str, concurrency: int) -> str:
    if model == "speciesnetv401a":
        return "speciesnet-v4-0-1a" if kind == "batch" else "speciesnet-v4-0-1a-realtime"
    return f"{model}-concurrency-{concurrency}"


@dataclass(frozen=True)
class HandmadeEndpoint:
    name: str
    model: str
    kind: str
    concurrency: int


def seed(
    emulator: Emulator, account: Account, region: str, registry: RegistryCopy
) -> list[HandmadeEndpoint]:
    """What the notebooks created, through the same API calls, for every registry endpoint."""
    fleet = load_fleet(registry.root)
    environment = next(e for e in fleet.environments if e.region == region)
    sagemaker = emulator.client("sagemaker", account, region)
    ssm = emulator.client("ssm", account, region)
    made = []
    for model in fleet.models_of(environment):
        for kind, spec in model.endpoints.items():
            name = handmade_name(model.name, kind, spec.max_concurrency)
            sagemaker.create_model(
                ModelName=f"{name}-model",
                ExecutionRoleArn=f"arn:aws:iam::{account.account_id}:role/animl-notebook",
                PrimaryContainer={"Image": model.image, "ModelDataUrl": model.artifact_for(region)},
            )
            sagemaker.create_endpoint_config(
                EndpointConfigName=f"{name}-config",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": f"{name}-model",
                        "ServerlessConfig": {
                            "MemorySizeInMB": spec.memory_mb,
                            "MaxConcurrency": spec.max_concurrency,
                        },
                    }
                ],
            )
            sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
            for stage in environment.stages:
                ssm.put_parameter(
                    Name=parameter_name(model.name, kind, stage), Value=name, Type="String"
                )
            made.append(HandmadeEndpoint(name, model.name, kind, spec.max_concurrency))
    return made
