"""moto server, with its CloudFormation change-set lookups answering as CloudFormation does.

The CDK CLI names every deploy change set `cdk-deploy-change-set`, deletes a leftover one before it
creates the next, and polls until the deleted set is gone. moto 5.2 looks change sets up by name
alone, across all stacks, so with several stacks it executes another stack's change set; it fails
DeleteChangeSet on a missing set with a 500; and it answers a missing set with ValidationError
instead of ChangeSetNotFound. Stacks would be left in REVIEW_IN_PROGRESS and updates would hang.
These three handlers look change sets up by name within the stack, delete a missing set without
complaint, and answer ChangeSetNotFound for it.

On an update the CLI passes the stack's SSM-typed BootstrapVersion parameter with UsePreviousValue;
moto then hands the already resolved value ("29"), not the parameter path, back to SSM and fails
with a 500. A value that is not a path is taken as already resolved.

moto updates only the resources whose template text changed. When an endpoint config is replaced,
CloudFormation also updates the endpoint that points at it with GetAtt; moto would leave the
endpoint on the deleted config. Resources that reference a modified one are modified after it.
Everything else is moto.
Run as: python moto_server.py -H localhost -p PORT
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.server import main


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


def _references(value: Any) -> set[str]:
    """Logical ids that a template fragment points at with Ref or Fn::GetAtt."""
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            found.add(inner)
        elif key == "Fn::GetAtt":
            found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
        else:
            found |= _references(inner)
    return found


_template_diff = ResourceMap.build_resource_diff


def build_resource_diff(
    self: ResourceMap, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    diff = _template_diff(self, other_template, parameters)
    modified = diff["Modify"]
    pending = True
    while pending:
        pending = False
        for name, resource in other_template["Resources"].items():
            if name in modified or name in diff["Add"]:
                continue
            if _references(resource.get("Properties", {})) & set(modified):
                modified.append(name)
                pending = True
    return diff


_resolve_ssm_parameter = ResourceMap.parse_ssm_parameter


def parse_ssm_parameter(self: ResourceMap, value: str, value_type: str) -> str:
    if not value.startswith("/"):
        return value
    return _resolve_ssm_parameter(self, value, value_type)


ResourceMap.build_resource_diff = build_resource_diff
ResourceMap.parse_ssm_parameter = parse_ssm_parameter
CloudFormationResponse.describe_change_set = describe_change_set
CloudFormationResponse.delete_change_set = delete_change_set
CloudFormationResponse.execute_change_set = execute_change_set

if __name__ == "__main__":
    main(sys.argv[1:])
