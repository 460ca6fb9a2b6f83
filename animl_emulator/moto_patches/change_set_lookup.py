"""Change sets looked up by name within their stack, as CloudFormation does.

The CDK CLI names every deploy change set `cdk-deploy-change-set`, deletes a leftover one before it
creates the next, and polls until the deleted set is gone. moto 5.2 looks change sets up by name
alone, across all stacks, so with several stacks it executes another stack's change set; it fails
DeleteChangeSet on a missing set with a 500; and it answers a missing set with ValidationError
instead of ChangeSetNotFound. Stacks would be left in REVIEW_IN_PROGRESS and updates would hang.
"""

from __future__ import annotations

import contextlib

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult


class ChangeSetNotFoundError(CloudFormationError):
    code = "ChangeSetNotFoundException"


def _change_set_id(backend: CloudFormationBackend, name_or_arn: str, stack: str | None) -> str:
    if name_or_arn in backend.change_sets:
        return name_or_arn
    matches = [
        change_set_id
        for change_set_id, change_set in backend.change_sets.items()
        if change_set.change_set_name == name_or_arn
        and stack in (None, change_set.stack.name, change_set.stack.stack_id)
    ]
    if not matches:
        raise ChangeSetNotFoundError(f"ChangeSet [{name_or_arn}] does not exist")
    return matches[-1]


def _requested_change_set_id(response: CloudFormationResponse) -> str:
    return _change_set_id(
        response.cloudformation_backend,
        response._get_param("ChangeSetName"),
        response._get_param("StackName"),
    )


def describe_change_set(self: CloudFormationResponse) -> ActionResult:
    return ActionResult(self.cloudformation_backend.change_sets[_requested_change_set_id(self)])


def delete_change_set(self: CloudFormationResponse) -> EmptyResult:
    # CloudFormation deletes a change set that is already gone without complaint.
    with contextlib.suppress(ChangeSetNotFoundError):
        del self.cloudformation_backend.change_sets[_requested_change_set_id(self)]
    return EmptyResult()


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.execute_change_set(
        change_set_name=_requested_change_set_id(self), stack_name=self._get_param("StackName")
    )
    return EmptyResult()


def check() -> None:
    for name in ("describe_change_set", "delete_change_set", "execute_change_set"):
        assert hasattr(CloudFormationResponse, name), f"moto has no CloudFormationResponse.{name}"


def apply() -> None:
    CloudFormationResponse.describe_change_set = describe_change_set
    CloudFormationResponse.delete_change_set = delete_change_set
    CloudFormationResponse.execute_change_set = execute_change_set
