"""`quota plan` on screen: one row per endpoint, then the totals and what the freed room holds."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from animl_contract.limits import CONCURRENCY_QUOTA_CODE
from animl_ops.quota_plan import EndpointPlan, FleetPlan


def _latency(plan: EndpointPlan) -> str:
    if plan.latency_p50_ms is None or plan.latency_p99_ms is None:
        return ""
    return f"{plan.latency_p50_ms:,.0f} / {plan.latency_p99_ms:,.0f}"


def print_plan(fleet: FleetPlan, console: Console, faster: FleetPlan | None = None) -> None:
    """faster: the same plan for a graph at a fraction of today's latency (--latency-ratio)."""
    table = Table(title=f"{fleet.environment} ({fleet.account}/{fleet.region}): the last "
                        f"{fleet.days:g} days of CloudWatch")  # fmt: skip
    columns = ["endpoint", "max now", "peak (when)", "invocations", "p50 / p99 ms", "at 100%",
               "recommended", "change"]  # fmt: skip
    if faster is not None:
        columns.append("with the faster graph")
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    by_name = {p.endpoint: p for p in faster.endpoints} if faster else {}
    for p in fleet.endpoints:
        when = f" ({p.peak_at:%m-%d %H:%M})" if p.peak_at else ""
        saturated = f"{p.saturated_periods} x {p.period_s} s" if p.saturated_periods else ""
        row = [p.endpoint, str(p.current or "-"), f"{p.peak if p.peak is not None else '-'}{when}",
               f"{p.invocations:,}", _latency(p), saturated, str(p.recommended or "-"),
               f"{p.change:+d}" if p.change else ""]  # fmt: skip
        if faster is not None:
            row.append(str(by_name[p.endpoint].recommended or "-"))
        table.add_row(*row)
    console.print(table)
    for p in fleet.endpoints:
        for note in p.notes:
            console.print(f"{p.endpoint}: {note}", markup=False, highlight=False)
        if p.raise_to is not None:
            fits = "fits" if fleet.raise_fits(p) else "does not fit"
            console.print(
                f"{p.endpoint}: raising it to {p.raise_to} {fits} the quota", markup=False
            )
    console.print(
        f"reserved now {fleet.reserved}, recommended {fleet.recommended}, of a quota of "
        f"{fleet.quota} ({CONCURRENCY_QUOTA_CODE}; {fleet.others} held by others in the region): "
        f"room for {fleet.room_for(fleet.recommended)} more endpoints of max concurrency "
        f"{fleet.usual_size}, {fleet.room_for(fleet.reserved)} today",
        markup=False,
    )
    if faster is not None:
        console.print(
            f"with the faster graph: recommended {faster.recommended}, room for "
            f"{faster.room_for(faster.recommended)} more",
            markup=False,
        )
    wanted = fleet.quota_for_one_more()
    if wanted > fleet.quota:
        console.print(
            f"or, without lowering anything, ask AWS for {wanted} (today's {fleet.others + fleet.reserved} "
            f"and one more endpoint of {fleet.usual_size}): {quota_request(fleet, wanted)}",
            markup=False,
        )
    if fleet.callers_in_flight is not None:
        console.print(
            f"the callers can have at most {fleet.callers_in_flight} calls in flight at once "
            "(callers in environments.yaml, times the stages)",
            markup=False,
        )


def quota_request(fleet: FleetPlan, wanted: int) -> str:
    """The Service Quotas request for a quota that holds `wanted`."""
    return (
        f"aws service-quotas request-service-quota-increase --region {fleet.region} "
        f"--service-code sagemaker --quota-code {CONCURRENCY_QUOTA_CODE} --desired-value {wanted}"
    )
