"""An AWS::CloudWatch::Alarm resource for CloudFormation.

moto 5.2 keeps CloudWatch alarms but has no AWS::CloudWatch::Alarm resource: a stack of alarms
deploys without them. CloudFormationAlarm creates, replaces and deletes them through moto's
CloudWatch backend, and answers Fn::GetAtt Arn. moto finds resource types among
CloudFormationModel's subclasses, so importing this module is what applies it.
"""

from __future__ import annotations

from moto.cloudwatch.models import Alarm, cloudwatch_backends
from moto.core.common_models import CloudFormationModel

ALARM_TYPE = "AWS::CloudWatch::Alarm"


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


def check() -> None:
    moto_own = [
        model
        for model in CloudFormationModel.__subclasses__()
        if model is not CloudFormationAlarm and model.cloudformation_type() == ALARM_TYPE
    ]
    assert not moto_own, f"moto has {ALARM_TYPE} now"


def apply() -> None:
    """Nothing left to do: defining CloudFormationAlarm registered it."""
