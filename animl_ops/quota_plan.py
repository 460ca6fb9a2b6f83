"""`quota plan`: each endpoint's max concurrency sized from its own traffic, within what its
callers can send; pure decisions, from what the account and CloudWatch said (animl_ops.traffic).

Concurrency is arrival rate x service time: the peak of ServerlessConcurrentExecutionsUtilization
(the share of MaxConcurrency in use, per period) times MaxConcurrency is the most calls the
endpoint served at once. The recommendation is that peak with headroom, at least a floor, at most
the callers' bound; an endpoint that reached 100% is never lowered.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from animl_contract import limits
from animl_ops.traffic import Traffic

#: Chosen with benchmarks/quota_plan_month.py: the headroom over the observed peak, and the
#: floor under it (one call in flight plus one arriving while it runs).
DEFAULT_HEADROOM = 0.5
FLOOR = 2
#: An endpoint's LastModifiedTime within this of its CreationTime is its creation, not an update.
SETTLE = timedelta(minutes=5)


@dataclass(frozen=True)
class Deployed:
    """What SageMaker says of the endpoint now."""

    max_concurrency: int
    created: datetime
    #: When the endpoint last changed config (UpdateEndpoint); its concurrency may have changed.
    modified: datetime


@dataclass(frozen=True)
class EndpointPlan:
    model: str
    kind: str
    endpoint: str
    #: None: in the registry but not deployed.
    current: int | None
    recommended: int | None
    peak: int | None = None
    peak_at: datetime | None = None
    invocations: int = 0
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    #: Periods at 100% of MaxConcurrency (calls beyond it were throttled), and their length.
    saturated_periods: int = 0
    period_s: int = 60
    caller_bound: int | None = None
    #: Reached 100%: what would leave room for its peak (not applied by --write).
    raise_to: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def change(self) -> int:
        if self.current is None or self.recommended is None:
            return 0
        return self.recommended - self.current

    def as_json(self) -> dict:
        data = asdict(self) | {"change": self.change}
        data["peak_at"] = self.peak_at.isoformat() if self.peak_at else None
        return data


def _need(peak: int, headroom: float, latency_ratio: float) -> int:
    return max(FLOOR, math.ceil(peak * latency_ratio * (1 + headroom) - 1e-9))


def plan_endpoint(
    model: str,
    kind: str,
    endpoint: str,
    deployed: Deployed | None,
    traffic: Traffic | None,
    window_start: datetime,
    caller_bound: int | None,
    headroom: float = DEFAULT_HEADROOM,
    latency_ratio: float = 1.0,
) -> EndpointPlan:
    """latency_ratio: a graph that takes that share of today's time needs that share of the
    concurrency for the same arrivals (INT8: int8.latency_ratio of conversion.json)."""
    if deployed is None:
        return EndpointPlan(model, kind, endpoint, None, None, caller_bound=caller_bound,
                            notes=("not deployed: nothing to size",))  # fmt: skip
    current = deployed.max_concurrency
    notes = []
    if deployed.created > window_start:
        notes.append(f"created {deployed.created:%Y-%m-%d %H:%M}: less than the window of data")
    if traffic is not None and deployed.modified > max(window_start, deployed.created + SETTLE):
        # Utilization before the change is a share of a MaxConcurrency that no longer holds.
        traffic = traffic.since(deployed.modified)
        notes.append(
            f"config changed {deployed.modified:%Y-%m-%d %H:%M}: sized from the data since"
        )
    if traffic is None or not traffic.utilization:
        notes.append("no data in the window: not sized (is the endpoint still called?)")
        return EndpointPlan(model, kind, endpoint, current, current, caller_bound=caller_bound,
                            period_s=traffic.period_s if traffic else 60, notes=tuple(notes))  # fmt: skip

    peak_at, peak_share = max(traffic.utilization, key=lambda u: (u[1], u[0]))
    peak = math.ceil(peak_share * current - 1e-9)
    saturated = sum(1 for _, share in traffic.utilization if share >= 1.0 - 1e-9)
    cap = min(caller_bound or limits.MAX_CONCURRENCY_MAX, limits.MAX_CONCURRENCY_MAX)
    recommended = min(cap, _need(peak, headroom, latency_ratio))
    raise_to = None
    if saturated:
        notes.append(
            f"reached 100% in {saturated} period(s) of {traffic.period_s} s: calls were "
            "throttled, so it is not lowered"
        )
        recommended = current
        raise_to = min(cap, _need(current, headroom, 1.0))
        if raise_to <= current:
            raise_to = None
            notes.append("raising it would exceed what its callers can send")
    elif caller_bound is not None and recommended == caller_bound:
        notes.append(f"capped at what the callers can send ({caller_bound})")
    return EndpointPlan(
        model, kind, endpoint, current, recommended, peak=peak, peak_at=peak_at,
        invocations=traffic.invocations, latency_p50_ms=traffic.latency_p50_ms,
        latency_p99_ms=traffic.latency_p99_ms, saturated_periods=saturated, raise_to=raise_to,
        notes=tuple(notes), caller_bound=caller_bound, period_s=traffic.period_s,
    )  # fmt: skip


@dataclass(frozen=True)
class FleetPlan:
    environment: str
    account: str
    region: str
    days: float
    quota: int
    endpoints: tuple[EndpointPlan, ...]
    #: The most calls the environment's callers can have in flight at once, where declared.
    callers_in_flight: int | None
    #: What the region holds besides the environment's endpoints (other environments, by hand).
    others: int = 0

    @property
    def reserved(self) -> int:
        return sum(p.current or 0 for p in self.endpoints)

    @property
    def recommended(self) -> int:
        return sum(p.recommended or 0 for p in self.endpoints)

    @property
    def usual_size(self) -> int:
        """The median max concurrency of the deployed endpoints: a new one's likely size."""
        sizes = sorted(p.current for p in self.endpoints if p.current)
        return sizes[len(sizes) // 2] if sizes else limits.MAX_CONCURRENCY_MIN

    def room_for(self, total: int) -> int:
        return max(0, self.quota - self.others - total) // self.usual_size

    def quota_for_one_more(self) -> int:
        """The quota today's fleet needs, unchanged, to take one more endpoint of the usual size."""
        return self.others + self.reserved + self.usual_size

    def raise_fits(self, plan: EndpointPlan) -> bool:
        """Whether raising a saturated endpoint fits, with the recommendations applied."""
        extra = (plan.raise_to or 0) - (plan.recommended or 0)
        return self.others + self.recommended + extra <= self.quota

    def as_json(self) -> dict:
        return {
            "environment": self.environment, "account": self.account, "region": self.region,
            "days": self.days, "quota": self.quota, "reserved": self.reserved,
            "recommended": self.recommended, "others": self.others,
            "callers_in_flight": self.callers_in_flight, "usual_size": self.usual_size,
            "room_now": self.room_for(self.reserved),
            "room_recommended": self.room_for(self.recommended),
            "quota_for_one_more": self.quota_for_one_more(),
            "endpoints": [p.as_json() for p in self.endpoints],
        }  # fmt: skip
