"""Resources that reference a modified resource are modified after it.

moto updates only the resources whose template text changed. When an endpoint config is replaced,
CloudFormation also updates the endpoint that points at it with GetAtt; moto would leave the
endpoint on the deleted config.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.parsing import ResourceMap

_template_diff = ResourceMap.build_resource_diff


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


def check() -> None:
    assert hasattr(ResourceMap, "build_resource_diff"), (
        "moto has no ResourceMap.build_resource_diff"
    )


def apply() -> None:
    ResourceMap.build_resource_diff = build_resource_diff
