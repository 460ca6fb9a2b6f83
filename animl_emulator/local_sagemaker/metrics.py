"""The AWS/SageMaker metrics of one invocation, put into the emulator's CloudWatch, and the
alarms that watch them evaluated at once.

Names, units and dimensions are those the SageMaker guide lists for serverless endpoints
("Monitor Amazon SageMaker AI with Amazon CloudWatch"): EndpointName and VariantName; latencies in
microseconds; ServerlessConcurrentExecutionsUtilization without a unit. Like SageMaker, every
invocation that reached the model counts 0 or 1 in each error metric, so Sum is the count.
moto keeps alarms but never evaluates them; CloudWatch evaluates each alarm every minute over its
period, the emulator after every datapoint over the period that ends then.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.utils import utcnow

NAMESPACE = "AWS/SageMaker"
_MICROSECONDS = 1_000_000

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


@dataclass(frozen=True)
class Invocation:
    """What one call to an endpoint did; model_status None: it never reached the container."""

    endpoint: str
    variant: str
    model_status: int | None
    model_seconds: float
    overhead_seconds: float
    setup_seconds: float | None
    in_flight: int
    max_concurrency: int


def datapoints(call: Invocation) -> list[dict]:
    dimensions = [
        {"Name": "EndpointName", "Value": call.endpoint},
        {"Name": "VariantName", "Value": call.variant},
    ]

    def point(name: str, value: float, unit: str) -> dict:
        # No Timestamp: moto stamps the datapoint with its own clock, as it reads them back.
        return {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": unit}

    found = [
        point(
            "ServerlessConcurrentExecutionsUtilization",
            call.in_flight / call.max_concurrency,
            "None",
        )
    ]
    if call.setup_seconds is not None:
        found.append(point("ModelSetupTime", call.setup_seconds * _MICROSECONDS, "Microseconds"))
    if call.model_status is None:
        return found
    status = call.model_status
    return [
        *found,
        point("Invocations", 1, "Count"),
        point("Invocation4XXErrors", int(400 <= status < 500), "Count"),
        point("Invocation5XXErrors", int(status >= 500), "Count"),
        point("ModelLatency", call.model_seconds * _MICROSECONDS, "Microseconds"),
        point("OverheadLatency", call.overhead_seconds * _MICROSECONDS, "Microseconds"),
    ]


def breaches(value: float | None, comparison: str, threshold: float) -> bool:
    """Missing data does not breach (treat_missing_data notBreaching, as our alarms declare)."""
    return value is not None and _COMPARISONS[comparison](value, threshold)


def publish(account: str, region: str, call: Invocation) -> None:
    backend = cloudwatch_backends[account][region]
    backend.put_metric_data(NAMESPACE, datapoints(call))
    _evaluate_alarms(backend, call)


def _evaluate_alarms(backend, call: Invocation) -> None:
    watched = {("EndpointName", call.endpoint), ("VariantName", call.variant)}
    now = utcnow()
    for alarm in list(backend.alarms.values()):
        dimensions = {(d.name, d.value) for d in alarm.dimensions}
        if alarm.namespace != NAMESPACE or dimensions != watched or not alarm.statistic:
            continue
        # Evaluation periods beyond the first are not modelled: every alarm of ours has one.
        statistics = backend.get_metric_statistics(
            NAMESPACE,
            alarm.metric_name,
            now - timedelta(seconds=int(alarm.period)),
            now + timedelta(seconds=1),
            int(alarm.period) + 1,
            [alarm.statistic],
            [{"Name": n, "Value": v} for n, v in sorted(dimensions)],
        )
        values = [s.get_statistics_for_type(alarm.statistic) for s in statistics]
        value = float(values[0]) if values and values[0] is not None else None
        state = "ALARM" if breaches(value, alarm.comparison_operator, alarm.threshold) else "OK"
        if state != alarm.state_value:
            alarm.update_state(
                f"Threshold Crossed: {alarm.statistic} {alarm.metric_name} {value} "
                f"({alarm.comparison_operator} {alarm.threshold}) (local SageMaker)",
                "{}",
                state,
            )
