"""What the take-over moves: every endpoint of an environment, found in the synthesized templates
by the construct paths of animl_constructs.construct_ids, and the checks before anything moves."""

from __future__ import annotations

from animl_constructs.construct_ids import (
    config_path,
    endpoint_of,
    endpoint_path,
    parameter_path,
)
from animl_ops.cdk_runner import Assembly
from animl_ops.migration_plan import Target
from animl_ops.migration_state import MigrationError
from model_registry.naming import endpoint_name, parameter_name
from model_registry.schema import EnvironmentSpec, ModelSpec
from stacks.stack_names import endpoint_stack_ids


def path_of(resource: dict) -> str:
    return resource.get("Metadata", {}).get("aws:cdk:path", "")


def check_movable(models: list[ModelSpec]) -> None:
    """A take-over deploys no assets: every model runs an existing image and s3:// artifact."""
    built = [m.name for m in models if m.image is None or m.artifact_is_local]
    if built:
        raise MigrationError(
            f"a take-over runs on existing images and s3:// artifacts; {', '.join(built)} "
            "name a container folder or a local artifact: give them the image and artifact "
            "their hand-made endpoints run, and move them to animl-serve afterwards"
        )


def targets(
    assembly: Assembly, environment: EnvironmentSpec, models: list[ModelSpec]
) -> list[Target]:
    """Every endpoint of the environment, located in the synthesized templates by its path."""
    found: list[Target] = []
    templates = {stack: assembly.template(stack) for stack in endpoint_stack_ids(environment)}
    for model in models:
        for kind, spec in model.endpoints.items():
            name = endpoint_name(model.name, kind)
            for stack, template in templates.items():
                paths = {path_of(r): lid for lid, r in template.get("Resources", {}).items()}
                endpoint_id = paths.get(endpoint_path(stack, name))
                if endpoint_id is None:
                    continue
                found.append(
                    Target(
                        name=name,
                        model=model.name,
                        kind=kind,
                        stack=stack,
                        max_concurrency=spec.max_concurrency,
                        parameters=tuple(
                            parameter_name(model.name, kind, s) for s in environment.stages
                        ),
                        endpoint_logical_id=endpoint_id,
                        parameter_logical_ids=tuple(
                            paths[parameter_path(stack, name, s)] for s in environment.stages
                        ),
                        config_logical_id=paths[config_path(stack, name)],
                    )
                )
    if not found:
        raise MigrationError("the synthesized templates hold no endpoint (no aws:cdk:path)")
    return found


def compose(template: dict, stack: str, held: set[str], owned: set[str]) -> dict:
    """The stack's template narrowed to the endpoints held, with the parameters owned."""
    resources = {}
    for logical_id, resource in template.get("Resources", {}).items():
        target = endpoint_of(path_of(resource), stack)
        if target not in held:
            continue
        if resource["Type"] == "AWS::SSM::Parameter" and target not in owned:
            continue
        resources[logical_id] = resource
    return template | {"Resources": resources}
