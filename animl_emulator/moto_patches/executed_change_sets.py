"""A stack's change sets after one is executed, and ListChangeSets of one stack, as CloudFormation
has them.

CloudFormation keeps a stack's change sets only until the stack is updated: executing one
removes them all (AWS CloudFormation User Guide, "Delete a change set for a CloudFormation
stack": it "retains all change sets until you update the stack"). moto 5.2 keeps them, marked
EXECUTE_COMPLETE, and its ListChangeSets returns the change sets of every stack. The take-over
would find its own executed change set again and take the step for done.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult


def _executing(original: Any) -> Any:
    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            c for c in self.change_sets.values() if c.change_set_name == change_set_name
        )
        original(self, change_set_name, stack_name)
        for change_set_id, other in list(self.change_sets.items()):
            if other.stack_id == change_set.stack_id:
                del self.change_sets[change_set_id]

    return execute_change_set


def list_change_sets(self: CloudFormationResponse) -> ActionResult:
    stack = self._get_param("StackName")
    summaries = [
        c
        for c in self.cloudformation_backend.list_change_sets()
        if stack in (c.stack.name, c.stack.stack_id)
    ]
    return ActionResult({"Summaries": summaries})


def check() -> None:
    assert hasattr(CloudFormationBackend, "execute_change_set")
    assert hasattr(CloudFormationResponse, "list_change_sets")


def apply() -> None:
    CloudFormationBackend.execute_change_set = _executing(CloudFormationBackend.execute_change_set)
    CloudFormationResponse.list_change_sets = list_change_sets
