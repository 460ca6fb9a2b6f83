"""An IMPORT change set into an existing stack, applied as CloudFormation applies it.

moto 5.2 executes an IMPORT change set as a CREATE: it makes a second stack of the same name and
fails on a parameter that already exists. An IMPORT into an existing stack is applied as an update
here, and an SSM parameter it lists is adopted as it is, as CloudFormation imports it.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.cloudformation.models import CloudFormationBackend
from moto.ssm.models import Parameter, ssm_backends

_importing = threading.local()
_create_change_set = CloudFormationBackend.create_change_set
_execute_change_set = CloudFormationBackend.execute_change_set
_create_parameter = Parameter.create_from_cloudformation_json.__func__


def create_change_set(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
    importing = kwargs.get("change_set_type") == "IMPORT" and any(
        stack.name == kwargs.get("stack_name") and not stack.status.startswith("DELETE")
        for stack in self.stacks.values()
    )
    if not importing:
        return _create_change_set(self, *args, **kwargs)
    change_set_id, stack_id = _create_change_set(
        self, *args, **kwargs | {"change_set_type": "UPDATE"}
    )
    self.change_sets[change_set_id].change_set_type = "IMPORT"
    return change_set_id, stack_id


def execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    _importing.active = self.change_sets[change_set_name].change_set_type == "IMPORT"
    try:
        _execute_change_set(self, change_set_name, stack_name)
    finally:
        _importing.active = False


@classmethod  # type: ignore[misc]
def create_parameter(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    name = cloudformation_json["Properties"].get("Name")
    backend = ssm_backends[account_id][region_name]
    if getattr(_importing, "active", False) and name in backend._parameters:
        return backend.get_parameter(name)
    return _create_parameter(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    )


def check() -> None:
    for owner, name in (
        (CloudFormationBackend, "create_change_set"),
        (CloudFormationBackend, "execute_change_set"),
        (Parameter, "create_from_cloudformation_json"),
    ):
        assert hasattr(owner, name), f"moto has no {owner.__name__}.{name}"


def apply() -> None:
    CloudFormationBackend.create_change_set = create_change_set
    CloudFormationBackend.execute_change_set = execute_change_set
    Parameter.create_from_cloudformation_json = create_parameter
