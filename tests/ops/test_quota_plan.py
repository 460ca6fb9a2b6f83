"""`quota plan`'s decisions, each worked out by hand: peak x (1 + headroom), at least the floor, at
most the callers' bound, never lower than a peak that reached 100%."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import botocore
import botocore.exceptions
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from animl_ops.cli_common import aws_failure
from animl_ops.plan_report import quota_request
from animl_ops.quota_plan import DEFAULT_HEADROOM, FLOOR, Deployed, FleetPlan, plan_endpoint
from animl_ops.traffic import Traffic, period_for, read_traffic

NOW = datetime(2026, 11, 30, tzinfo=UTC)
START = NOW - timedelta(days=30)
OLD = Deployed(
    max_concurrency=80, created=NOW - timedelta(days=200), modified=NOW - timedelta(days=200)
)


def traffic(*shares: float, period_s: int = 300, invocations: int = 1000) -> Traffic:
    return Traffic(
        period_s=period_s,
        utilization=tuple((START + timedelta(hours=i), s) for i, s in enumerate(shares)),
        invocations=invocations,
        latency_p50_ms=900.0,
        latency_p99_ms=2500.0,
    )


def plan(deployed=OLD, seen=None, bound=None, **kwargs):
    return plan_endpoint("mirav2", "batch", "mirav2-batch", deployed, seen, START, bound, **kwargs)


def test_the_defaults():
    assert (DEFAULT_HEADROOM, FLOOR) == (0.5, 2)


def test_a_bulk_endpoint_that_peaked_at_a_quarter_is_lowered_to_the_peak_with_headroom():
    result = plan(seen=traffic(0.05, 0.25, 0.1))
    # 0.25 x 80 = 20 in flight at the peak; 20 x 1.5 = 30.
    assert (result.peak, result.recommended, result.change) == (20, 30, -50)
    assert result.peak_at == START + timedelta(hours=1)
    assert result.saturated_periods == 0
    assert result.notes == ()


def test_an_idle_endpoint_goes_to_the_floor():
    result = plan(seen=traffic(0.0125, invocations=3))  # one call in flight: 1/80
    assert (result.peak, result.recommended) == (1, FLOOR)


def test_an_endpoint_that_reached_100_percent_is_never_lowered_and_says_whether_raising_helps():
    result = plan(seen=traffic(0.2, 1.0, 1.0, 0.3))
    assert (result.recommended, result.change, result.saturated_periods) == (80, 0, 2)
    assert result.raise_to == 120  # 80 x 1.5
    assert "reached 100% in 2 period(s) of 300 s" in result.notes[0]
    capped = plan(seen=traffic(1.0), bound=80)
    assert (capped.recommended, capped.raise_to) == (80, None)
    assert "raising it would exceed what its callers can send" in capped.notes


def test_the_callers_bound_caps_the_recommendation():
    busy = Deployed(200, OLD.created, OLD.modified)
    result = plan(deployed=busy, seen=traffic(0.6), bound=160)  # 120 x 1.5 = 180 > 160
    assert (result.peak, result.recommended) == (120, 160)
    assert result.notes == ("capped at what the callers can send (160)",)


def test_no_data_leaves_the_endpoint_as_it_is_and_says_so():
    result = plan(seen=traffic())
    assert (result.recommended, result.change, result.peak) == (80, 0, None)
    assert result.notes == ("no data in the window: not sized (is the endpoint still called?)",)


def test_an_endpoint_not_deployed_is_a_line_not_an_error():
    result = plan(deployed=None)
    assert (result.current, result.recommended) == (None, None)
    assert result.notes == ("not deployed: nothing to size",)


def test_a_concurrency_changed_mid_window_is_sized_from_the_data_since():
    changed = Deployed(40, OLD.created, START + timedelta(hours=2))
    # Before the change 0.9 of the old 80 (72 in flight); since, at most 0.5 of 40 = 20.
    result = plan(deployed=changed, seen=traffic(0.9, 0.9, 0.5, 0.25))
    assert (result.peak, result.recommended) == (20, 30)
    assert result.notes == ("config changed 2026-10-31 02:00: sized from the data since",)


def test_an_endpoint_created_inside_the_window_says_so():
    new = Deployed(80, START + timedelta(days=20), START + timedelta(days=20, minutes=3))
    result = plan(deployed=new, seen=traffic(0.1))
    assert result.notes == ("created 2026-11-20 00:00: less than the window of data",)
    assert result.recommended == 12  # 8 x 1.5


def test_a_faster_graph_needs_its_share():
    result = plan(seen=traffic(0.5), latency_ratio=0.25)  # 40 in flight x 0.25 x 1.5 = 15
    assert result.recommended == 15


def test_the_totals_and_the_room_they_make():
    plans = tuple(
        plan_endpoint(f"m{i}", "batch", f"m{i}-batch", OLD, traffic(0.25), START, None)
        for i in range(10)
    )
    fleet = FleetPlan("animl", "1", "us-west-2", 30, 1000, plans, 200, others=140)
    assert (fleet.reserved, fleet.recommended, fleet.usual_size) == (800, 300, 80)
    # 1000 - 140 - 300 = 560 free: 7 endpoints of 80; today 1000 - 140 - 800 = 60: none.
    assert (fleet.room_for(fleet.recommended), fleet.room_for(fleet.reserved)) == (7, 0)
    assert fleet.quota_for_one_more() == 1020  # 140 + 800 + 80


def test_the_quota_request_names_the_code_and_the_figure():
    fleet = FleetPlan("animl", "1", "us-west-2", 30, 1000, (), None)
    assert quota_request(fleet, 1020) == (
        "aws service-quotas request-service-quota-increase --region us-west-2 "
        "--service-code sagemaker --quota-code L-96300102 --desired-value 1020"
    )


def test_the_resolution_cloudwatch_keeps_for_each_age():
    assert [period_for(d) for d in (1, 15, 16, 63, 64, 455)] == [60, 60, 300, 300, 3600, 3600]


def test_access_denied_on_cloudwatch_is_one_line_naming_the_call():
    unsigned = Config(signature_version=botocore.UNSIGNED)
    cloudwatch = boto3.client("cloudwatch", region_name="us-west-2", config=unsigned)
    with Stubber(cloudwatch) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "not authorized to GetMetricData")
        with pytest.raises(botocore.exceptions.ClientError) as denied:
            read_traffic(cloudwatch, "mirav2-batch", START, NOW)
    assert str(aws_failure(denied.value)) == (
        "AWS refused the call: An error occurred (AccessDenied) when calling the GetMetricData "
        "operation: not authorized to GetMetricData"
    )
