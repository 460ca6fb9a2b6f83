"""An SSM-typed stack parameter whose previous value is already resolved stays as it is.

On an update the CDK CLI passes the stack's SSM-typed BootstrapVersion parameter with
UsePreviousValue; moto then hands the already resolved value ("29"), not the parameter path, back
to SSM and fails with a 500. A value that is not a path is taken as already resolved.
"""

from __future__ import annotations

from moto.cloudformation.parsing import ResourceMap

_resolve_ssm_parameter = ResourceMap.parse_ssm_parameter


def parse_ssm_parameter(self: ResourceMap, value: str, value_type: str) -> str:
    if not value.startswith("/"):
        return value
    return _resolve_ssm_parameter(self, value, value_type)


def check() -> None:
    assert hasattr(ResourceMap, "parse_ssm_parameter"), (
        "moto has no ResourceMap.parse_ssm_parameter"
    )


def apply() -> None:
    ResourceMap.parse_ssm_parameter = parse_ssm_parameter
