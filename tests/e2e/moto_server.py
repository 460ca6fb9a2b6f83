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
moto 5.2 has no UpdateEndpoint; the take-over lowers a hand-made endpoint's concurrency with it.
The handler switches the endpoint to the new config at once, where SageMaker shows Updating for
minutes while it still serves.

moto 5.2 executes an IMPORT change set as a CREATE: it makes a second stack of the same name and
fails on a parameter that already exists. An IMPORT into an existing stack is applied as an
update here, and an SSM parameter it lists is adopted as it is, as CloudFormation imports it.

moto 5.2 keeps CloudWatch alarms but has no AWS::CloudWatch::Alarm resource: a stack of alarms
deploys without them. CloudFormationAlarm creates, replaces and deletes them through moto's
CloudWatch backend, and answers Fn::GetAtt Arn.

moto 5.2 decodes an InvokeEndpoint body as UTF-8 and answers a JPEG, what the API sends
MegaDetector, with a 500. The body is kept as bytes here.

Everything else is moto.
Run as: python moto_server.py -H localhost -p PORT
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
from importlib.metadata import version
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch.models import Alarm, cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
from moto.server import main
from moto.ssm.models import Parameter, ssm_backends

WRITTEN_FOR_MOTO = "5.2.5"
_importing = threading.local()


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


def update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise SageMakerValidationError(message=f"Could not find endpoint '{name}'.")
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    return ActionResult({"EndpointArn": endpoint.arn})


_create_change_set = CloudFormationBackend.create_change_set
_backend_execute_change_set = CloudFormationBackend.execute_change_set
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


def backend_execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    _importing.active = self.change_sets[change_set_name].change_set_type == "IMPORT"
    try:
        _backend_execute_change_set(self, change_set_name, stack_name)
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


def invoke_endpoint(self: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
    body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
    unique = {k: v for k, v in self.headers.items() if k.lower().startswith("x-amzn-sagemaker")}
    unique |= {"Accept": self.headers.get("Accept"), "Body": base64.b64encode(body).decode()}
    answer, content_type, variant, attributes = self.sagemakerruntime_backend.invoke_endpoint(
        endpoint_name=self.path.split("/")[2],
        unique_repr=base64.b64encode(json.dumps(unique).encode()),
    )
    headers = {"Content-Type": content_type}
    if variant:
        headers["x-Amzn-Invoked-Production-Variant"] = variant
    if attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
    return 200, headers, answer


ALARM_TYPE = "AWS::CloudWatch::Alarm"
# Checked before CloudFormationAlarm joins CloudFormationModel's subclasses.
_MOTO_HAS_ALARM_RESOURCE = any(
    model.cloudformation_type() == ALARM_TYPE for model in CloudFormationModel.__subclasses__()
)


class CloudFormationAlarm(CloudFormationModel):
    # moto files its models by service, read from the module name ("moto.<service>...").
    __module__ = "moto.cloudwatch.cloudformation_alarm"

    def __init__(self, alarm: Alarm) -> None:
        self.alarm = alarm

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return ALARM_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.alarm.alarm_arn

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ) -> CloudFormationAlarm:
        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName", resource_name),
            namespace=p["Namespace"],
            metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]),
            threshold=float(p["Threshold"]),
            statistic=p["Statistic"],
            description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ) -> CloudFormationAlarm:
        cls.delete_from_cloudformation_json(
            original_resource.physical_resource_id, cloudformation_json, account_id, region_name
        )
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


def _check_patched() -> None:
    """The patches replace what moto WRITTEN_FOR_MOTO has; fail loudly when that changed."""
    assert version("moto") == WRITTEN_FOR_MOTO, f"moto_server.py was written for {WRITTEN_FOR_MOTO}"
    assert not hasattr(SageMakerResponse, "update_endpoint"), "moto has UpdateEndpoint now"
    assert not _MOTO_HAS_ALARM_RESOURCE, f"moto has {ALARM_TYPE} now"
    for owner, name in (
        (CloudFormationBackend, "create_change_set"),
        (CloudFormationBackend, "execute_change_set"),
        (ResourceMap, "build_resource_diff"),
        (ResourceMap, "parse_ssm_parameter"),
        (Parameter, "create_from_cloudformation_json"),
        (SageMakerRuntimeResponse, "invoke_endpoint"),
    ):
        assert hasattr(owner, name), f"moto has no {owner.__name__}.{name} any more"


_check_patched()
SageMakerRuntimeResponse.use_raw_body = True
SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint
SageMakerResponse.update_endpoint = update_endpoint
CloudFormationBackend.create_change_set = create_change_set
CloudFormationBackend.execute_change_set = backend_execute_change_set
Parameter.create_from_cloudformation_json = create_parameter
ResourceMap.build_resource_diff = build_resource_diff
ResourceMap.parse_ssm_parameter = parse_ssm_parameter
CloudFormationResponse.describe_change_set = describe_change_set
CloudFormationResponse.delete_change_set = delete_change_set
CloudFormationResponse.execute_change_set = execute_change_set

if __name__ == "__main__":
    main(sys.argv[1:])
