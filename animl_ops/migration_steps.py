"""Each take-over step against the account, written as "look, then do what is missing": a run
stopped after any AWS call finishes the step when it runs again, and repeats nothing done.

Each stack step deploys the stack's template as the registry synthesizes it, narrowed to what the
take-over holds so far, through a CloudFormation change set named by its content: a take-over
runs on images and artifacts that already exist, so there are no assets to publish.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from animl_ops.aws_account import AwsAccount
from animl_ops.cdk_runner import Assembly
from animl_ops.inventory import TAKEOVER_TAG, pages
from animl_ops.migration_live import APPLIED, leftovers, wait_settled
from animl_ops.migration_plan import FleetState, Progress, Step, Target
from animl_ops.migration_state import MigrationError
from animl_ops.migration_targets import compose

TEMPLATE_BODY_MAX = 51_200
NO_CHANGES = "didn't contain changes"


def _missing(error: Exception) -> bool:
    text = str(error)
    return any(s in text for s in ("Could not find", "does not exist", "not found", "NotFound"))


@dataclass
class Executor:
    """Carries out one step against the account; every step can be stopped and run again."""

    account: AwsAccount
    assembly: Assembly
    bucket: str  # the bootstrap's file-assets bucket, for templates over TemplateBody's limit
    smoke: Callable[[Target, str], str | None]  # (target, endpoint) -> problem or None
    keep_configs: bool
    poll_s: float = 5.0

    def run(self, step: Step, state: FleetState, progress: Progress) -> None:
        getattr(self, f"_{step.action}")(step, state, progress)

    def _tag(self, arn: str, target: Target) -> None:
        sm = self.account.sagemaker
        tag = {"Key": TAKEOVER_TAG, "Value": target.name}
        if tag not in sm.list_tags(ResourceArn=arn).get("Tags", []):
            sm.add_tags(ResourceArn=arn, Tags=[tag])

    def _adopt(self, step: Step, state: FleetState, p: Progress) -> None:
        sm = self.account.sagemaker
        endpoint = sm.describe_endpoint(EndpointName=p.old)
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        self._tag(config["EndpointConfigArn"], p.target)
        for variant in config["ProductionVariants"]:
            self._tag(sm.describe_model(ModelName=variant["ModelName"])["ModelArn"], p.target)
        self._tag(endpoint["EndpointArn"], p.target)  # last: it marks the step done

    def _wait_in_service(self, name: str) -> dict:
        sm = self.account.sagemaker
        while (described := sm.describe_endpoint(EndpointName=name))["EndpointStatus"] != (
            "InService"
        ):
            if described["EndpointStatus"] == "Failed":
                raise MigrationError(f"endpoint {name} failed to update; see its events")
            time.sleep(self.poll_s)
        return described

    def _lower(self, step: Step, state: FleetState, p: Progress) -> None:
        sm = self.account.sagemaker
        assert p.old is not None
        name = f"{p.old}-takeover-{step.lower_to}"[:63]
        current = self._wait_in_service(p.old)["EndpointConfigName"]
        if current == name:
            return
        try:
            sm.describe_endpoint_config(EndpointConfigName=name)
        except sm.exceptions.ClientError as error:
            if not _missing(error):
                raise
            variants = sm.describe_endpoint_config(EndpointConfigName=current)["ProductionVariants"]
            for variant in variants:
                variant["ServerlessConfig"]["MaxConcurrency"] = step.lower_to
            sm.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=variants,
                Tags=[{"Key": TAKEOVER_TAG, "Value": p.target.name}],
            )
        sm.update_endpoint(EndpointName=p.old, EndpointConfigName=name)
        self._wait_in_service(p.old)

    def _held(self, state: FleetState, stack: str) -> tuple[set[str], set[str]]:
        mine = [p for p in state.progress if p.target.stack == stack]
        return (
            {p.target.name for p in mine if p.managed},
            {p.target.name for p in mine if p.imported},
        )

    def _template_source(self, stack: str, body: str) -> dict[str, str]:
        if len(body) <= TEMPLATE_BODY_MAX:
            return {"TemplateBody": body}
        s3 = self.account.s3
        key = f"animl-takeover/{stack}/{hashlib.sha256(body.encode()).hexdigest()}.json"
        try:
            s3.head_object(Bucket=self.bucket, Key=key)
        except s3.exceptions.ClientError as error:
            if not _missing(error) and "404" not in str(error):
                raise
            s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode())
        region = self.account.session.region_name
        return {"TemplateURL": f"https://{self.bucket}.s3.{region}.amazonaws.com/{key}"}

    def _change(self, stack: str, template: dict, kind: str, **extra) -> None:
        """Creates, waits for and executes one change set, or carries on with the one a stopped
        run left; a change set with no changes is deleted, and no step."""
        cf = self.account.cloudformation
        status = wait_settled(self.account, stack, self.poll_s)
        body = json.dumps(template)
        name = f"animl-takeover-{kind.lower()}-{hashlib.sha256(body.encode()).hexdigest()[:12]}"
        ids = {"StackName": stack, "ChangeSetName": name}
        try:
            described = cf.describe_change_set(**ids)
        except cf.exceptions.ClientError as error:
            if not _missing(error):
                raise
            if kind == "UPDATE" and status in (None, "REVIEW_IN_PROGRESS"):
                kind = "CREATE"
            source = self._template_source(stack, body)
            cf.create_change_set(**ids, ChangeSetType=kind, **source, **extra)
            described = cf.describe_change_set(**ids)
        while described["Status"] in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            time.sleep(self.poll_s)
            described = cf.describe_change_set(**ids)
        if described["Status"] == "FAILED":
            cf.delete_change_set(**ids)
            if NO_CHANGES in described.get("StatusReason", ""):
                return
            raise MigrationError(
                f"the change set of {stack} failed: {described.get('StatusReason')}"
            )
        if described.get("ExecutionStatus") == "AVAILABLE":
            cf.execute_change_set(**ids)
        if (ended := wait_settled(self.account, stack, self.poll_s)) not in APPLIED:
            raise MigrationError(f"the change set of {stack} did not apply: the stack is {ended}")

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
        ssm = self.account.ssm
        for parameter in p.target.parameters:
            if ssm.get_parameter(Name=parameter)["Parameter"]["Value"] != p.managed:
                ssm.put_parameter(Name=parameter, Value=p.managed, Type="String", Overwrite=True)

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

    def _delete(self, step: Step, state: FleetState, p: Progress) -> None:
        """The old endpoint, then every config and model tagged for the target that nothing
        uses any more: read from the account, so a rerun finds what a stopped one left."""
        sm = self.account.sagemaker
        if p.old is not None:
            self._delete_endpoint(p.old)
        if self.keep_configs:
            return
        left = leftovers(self.account, self.account.inventory()).get(p.target.name, ())
        configs = {
            c["EndpointConfigName"] for c in pages(sm, "list_endpoint_configs", "EndpointConfigs")
        }
        for name in left:
            if name in configs:
                sm.delete_endpoint_config(EndpointConfigName=name)
            else:
                sm.delete_model(ModelName=name)

    def _delete_endpoint(self, name: str) -> None:
        sm = self.account.sagemaker
        while True:
            try:
                status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
            except sm.exceptions.ClientError as error:
                if _missing(error):
                    return
                raise
            if status != "Deleting":
                sm.delete_endpoint(EndpointName=name)
            else:
                time.sleep(self.poll_s)
