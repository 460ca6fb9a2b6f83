"""`migrate plan` and `migrate run`: the account's state, checks before anything changes, and
each step against AWS. The decisions are migration_plan's.

Each step deploys a stack's template as the registry synthesizes it, narrowed to what the
take-over holds so far (the endpoints created, the parameters imported), through CloudFormation
change sets: a take-over runs on images and artifacts that already exist, so there are no assets
to publish.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from animl_ops.cdk_runner import Assembly
from animl_ops.inventory import TAKEOVER_TAG
from animl_ops.migration_plan import FleetState, Progress, Step, Target
from model_registry.naming import endpoint_name, parameter_name
from model_registry.schema import EnvironmentSpec, ModelSpec

TAG = TAKEOVER_TAG
TEMPLATE_BODY_MAX = 51_200


class MigrationError(RuntimeError):
    """The account or registry cannot be taken over as they are; the message says why."""


def _path_of(resource: dict) -> str:
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
    templates = {
        stack: assembly.template(stack)
        for stack in assembly.stacks()
        if stack.startswith(f"{environment.name}-endpoints-")
    }
    for model in models:
        for kind, spec in model.endpoints.items():
            name = endpoint_name(model.name, kind)
            for stack, template in templates.items():
                paths = {_path_of(r): lid for lid, r in template.get("Resources", {}).items()}
                endpoint_id = paths.get(f"{stack}/{name}/Endpoint")
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
                            paths[f"{stack}/{name}/Parameter-{s}/Resource"]
                            for s in environment.stages
                        ),
                    )
                )
    if not found:
        raise MigrationError("the synthesized templates hold no endpoint (no aws:cdk:path)")
    return found


@dataclass
class Account:
    """boto3 clients of one account and region."""

    sagemaker: Any
    ssm: Any
    cloudformation: Any
    s3: Any


def _pages(client, operation: str, key: str, **kwargs) -> list[dict]:
    return [i for page in client.get_paginator(operation).paginate(**kwargs) for i in page[key]]


def _stack_exists(cloudformation, stack: str) -> bool:
    try:
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return False
        raise
    return status not in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS")


def _stack_resources(account: Account, stack: str) -> dict[str, str]:
    cf = account.cloudformation
    try:
        resources = _pages(cf, "list_stack_resources", "StackResourceSummaries", StackName=stack)
    except cf.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return {}
        raise
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}


@dataclass(frozen=True)
class Live:
    endpoints: dict[str, tuple[str, int | None]]  # name -> (config, max concurrency)
    parameters: dict[str, tuple[str, datetime]]  # name -> (value, last modified)
    stacks: dict[str, dict[str, str]]  # stack -> logical id -> physical id
    tags: dict[str, str]  # hand-made endpoint -> the target it is tagged to be replaced by
    names: dict[str, str]  # endpoint ARN (a stack's physical id of an endpoint) -> name


def read_live(account: Account, stacks: set[str]) -> Live:
    sm = account.sagemaker
    endpoints: dict[str, tuple[str, int | None]] = {}
    tags: dict[str, str] = {}
    names: dict[str, str] = {}
    for summary in _pages(sm, "list_endpoints", "Endpoints"):
        described = sm.describe_endpoint(EndpointName=summary["EndpointName"])
        names[described["EndpointArn"]] = summary["EndpointName"]
        config = described["EndpointConfigName"]
        variants = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
        concurrency = variants[0].get("ServerlessConfig", {}).get("MaxConcurrency")
        endpoints[summary["EndpointName"]] = (config, concurrency)
        for tag in sm.list_tags(ResourceArn=described["EndpointArn"]).get("Tags", []):
            if tag["Key"] == TAG:
                tags[summary["EndpointName"]] = tag["Value"]
    parameters = {
        p["Name"]: (p["Value"], p["LastModifiedDate"])
        for p in _pages(account.ssm, "get_parameters_by_path", "Parameters", Path="/ml/",
                        Recursive=True)
    }  # fmt: skip
    resources = {s: _stack_resources(account, s) for s in stacks}
    return Live(endpoints, parameters, resources, tags, names)


def fleet_state(live: Live, targets: list[Target], quota: int, leave: set[str]) -> FleetState:
    """Where each target stands; refuses, before any change, what cannot be taken over."""
    problems: list[str] = []
    progress: list[Progress] = []
    accounted: set[str] = set()
    for t in targets:
        resources = live.stacks.get(t.stack, {})
        physical = resources.get(t.endpoint_logical_id)
        managed = live.names.get(physical, physical) if physical else None
        values = {p: live.parameters.get(p) for p in t.parameters}
        accounted |= {v[0] for v in values.values() if v}
        missing = [p for p, v in values.items() if v is None]
        if missing:
            problems.append(
                f"{t.name} has no hand-made counterpart: {', '.join(missing)} do not exist "
                "(deploy new models after the take-over)"
            )
            continue
        named = {v[0] for v in values.values() if v}
        gone = sorted(n for n in named if n not in live.endpoints)
        if gone:
            problems.append(
                f"a parameter of {t.name} names {', '.join(gone)}, which does not exist"
            )
            continue
        tagged = [e for e, target in live.tags.items() if target == t.name]
        olds = {n for n in named if n != managed} | set(tagged)
        if len(olds) > 1:
            problems.append(f"the parameters of {t.name} name several endpoints: {sorted(olds)}")
            continue
        old = next(iter(olds), None)
        flipped = managed is not None and named == {managed}
        accounted |= {n for n in (old, managed) if n}
        progress.append(
            Progress(
                target=t,
                old=old,
                old_concurrency=live.endpoints[old][1] if old else None,
                adopted=old is None or old in live.tags,
                managed=managed,
                flipped=flipped,
                flipped_at=max(v[1] for v in values.values() if v) if flipped else None,
                imported=all(lid in resources for lid in t.parameter_logical_ids),
            )
        )
    serverless = {n: c for n, (_, c) in live.endpoints.items() if c is not None}
    unknown = sorted(set(serverless) - accounted - leave)
    if unknown:
        problems.append(
            f"hand-made endpoints the registry does not know: {', '.join(unknown)}; add them to "
            "the registry, delete them, or pass --leave NAME to leave one alone"
        )
    if problems:
        raise MigrationError("the take-over cannot start:\n  " + "\n  ".join(problems))
    others = sum(c for n, c in serverless.items() if n not in accounted)
    return FleetState(tuple(progress), others, quota)


def compose(template: dict, stack: str, held: set[str], owned: set[str]) -> dict:
    """The stack's template narrowed to the endpoints held, with the parameters owned."""
    resources = {}
    for logical_id, resource in template.get("Resources", {}).items():
        parts = _path_of(resource).split("/")
        target = parts[1] if len(parts) > 2 and parts[0] == stack else None
        if target not in held:
            continue
        if resource["Type"] == "AWS::SSM::Parameter" and target not in owned:
            continue
        resources[logical_id] = resource
    return template | {"Resources": resources}


@dataclass
class Executor:
    """Carries out one step against the account; every step can be repeated safely."""

    account: Account
    assembly: Assembly
    region: str
    bucket: str
    smoke: Callable[[Target, str], str | None]  # (target, endpoint) -> problem or None
    keep_configs: bool

    def run(self, step: Step, state: FleetState, progress: Progress) -> None:
        getattr(self, f"_{step.action}")(step, state, progress)

    def _arn_tags(self, arn: str, target: Target) -> None:
        self.account.sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": TAG, "Value": target.name}])

    def _adopt(self, step: Step, state: FleetState, p: Progress) -> None:
        sm = self.account.sagemaker
        endpoint = sm.describe_endpoint(EndpointName=p.old)
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        self._arn_tags(config["EndpointConfigArn"], p.target)
        for variant in config["ProductionVariants"]:
            self._arn_tags(sm.describe_model(ModelName=variant["ModelName"])["ModelArn"], p.target)
        self._arn_tags(endpoint["EndpointArn"], p.target)  # last: it marks the step done

    def _wait_in_service(self, name: str) -> None:
        while (
            status := self.account.sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
        ) != "InService":
            if status == "Failed":
                raise MigrationError(f"endpoint {name} failed to update; see its events")
            time.sleep(10)

    def _lower(self, step: Step, state: FleetState, p: Progress) -> None:
        sm = self.account.sagemaker
        current = sm.describe_endpoint(EndpointName=p.old)["EndpointConfigName"]
        config = sm.describe_endpoint_config(EndpointConfigName=current)
        variants = config["ProductionVariants"]
        for variant in variants:
            variant["ServerlessConfig"]["MaxConcurrency"] = step.lower_to
        name = f"{p.old}-takeover-{step.lower_to}"[:63]
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=variants,
            Tags=[{"Key": TAG, "Value": p.target.name}],
        )
        sm.update_endpoint(EndpointName=p.old, EndpointConfigName=name)
        self._wait_in_service(str(p.old))

    def _held(self, state: FleetState, stack: str) -> tuple[set[str], set[str]]:
        mine = [p for p in state.progress if p.target.stack == stack]
        return (
            {p.target.name for p in mine if p.managed},
            {p.target.name for p in mine if p.imported},
        )

    def _template_source(self, stack: str, template: dict) -> dict[str, str]:
        body = json.dumps(template)
        if len(body) <= TEMPLATE_BODY_MAX:
            return {"TemplateBody": body}
        key = f"animl-takeover/{stack}/{hashlib.sha256(body.encode()).hexdigest()}.json"
        self.account.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())
        return {"TemplateURL": f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{key}"}

    def _change(self, stack: str, template: dict, kind: str, **extra) -> None:
        """Creates, waits for and executes one change set; no change is no step."""
        cf = self.account.cloudformation
        source = self._template_source(stack, template)
        name = f"animl-takeover-{hashlib.sha256(json.dumps(template).encode()).hexdigest()[:12]}"
        if kind == "UPDATE" and not _stack_exists(cf, stack):
            kind = "CREATE"
        cf.create_change_set(
            StackName=stack, ChangeSetName=name, ChangeSetType=kind, **source, **extra
        )
        while (status := cf.describe_change_set(StackName=stack, ChangeSetName=name))[
            "Status"
        ] not in ("CREATE_COMPLETE", "FAILED"):
            time.sleep(2)
        if status["Status"] == "FAILED":
            if "didn't contain changes" in status.get("StatusReason", ""):
                return
            raise MigrationError(f"the change set of {stack} failed: {status.get('StatusReason')}")
        cf.execute_change_set(StackName=stack, ChangeSetName=name)
        self._wait_stack(stack)

    def _create(self, step: Step, state: FleetState, p: Progress) -> None:
        held, owned = self._held(state, p.target.stack)
        template = compose(
            self.assembly.template(p.target.stack), p.target.stack, held | {p.target.name}, owned
        )
        self._change(p.target.stack, template, "UPDATE")

    def _flip(self, step: Step, state: FleetState, p: Progress) -> None:
        assert p.managed is not None
        self._wait_in_service(p.managed)
        if problem := self.smoke(p.target, p.managed):
            raise MigrationError(
                f"the smoke test of {p.managed} failed, so its parameters still name {p.old}: "
                f"{problem}"
            )
        for parameter in p.target.parameters:
            self.account.ssm.put_parameter(
                Name=parameter, Value=p.managed, Type="String", Overwrite=True
            )

    def _import(self, step: Step, state: FleetState, p: Progress) -> None:
        held, owned = self._held(state, p.target.stack)
        template = compose(
            self.assembly.template(p.target.stack), p.target.stack, held, owned | {p.target.name}
        )
        resources = [
            {
                "ResourceType": "AWS::SSM::Parameter",
                "LogicalResourceId": logical_id,
                "ResourceIdentifier": {"Name": parameter},
            }
            for logical_id, parameter in zip(
                p.target.parameter_logical_ids, p.target.parameters, strict=True
            )
        ]
        self._change(p.target.stack, template, "IMPORT", ResourcesToImport=resources)

    def _wait_stack(self, stack: str) -> None:
        cf = self.account.cloudformation
        while (status := cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]).endswith(
            "_IN_PROGRESS"
        ):
            time.sleep(5)
        if status not in ("IMPORT_COMPLETE", "UPDATE_COMPLETE", "CREATE_COMPLETE"):
            raise MigrationError(f"stack {stack} ended in {status}")

    def _delete(self, step: Step, state: FleetState, p: Progress) -> None:
        sm = self.account.sagemaker
        sm.delete_endpoint(EndpointName=p.old)
        if self.keep_configs:
            return
        for config in _pages(sm, "list_endpoint_configs", "EndpointConfigs"):
            if self._tagged(config["EndpointConfigArn"], p.target):
                sm.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
        for model in _pages(sm, "list_models", "Models"):
            if self._tagged(model["ModelArn"], p.target):
                sm.delete_model(ModelName=model["ModelName"])

    def _tagged(self, arn: str, target: Target) -> bool:
        tags = self.account.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
        return {"Key": TAG, "Value": target.name} in tags
