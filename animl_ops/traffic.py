"""An endpoint's traffic over a window, read from CloudWatch at the finest resolution it keeps.

CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and 1-hour data for 455
days (Amazon CloudWatch User Guide, "Metrics retention"); GetMetricData needs a period that is a
multiple of what remains for the window's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from animl_contract.limits import VARIANT_NAME

NAMESPACE = "AWS/SageMaker"
#: (the oldest start, in days ago, at this resolution, the period in seconds)
RESOLUTIONS = ((15, 60), (63, 300), (455, 3600))
MAX_DAYS = RESOLUTIONS[-1][0]


def period_for(days: float) -> int:
    """The finest period CloudWatch still keeps for data `days` old."""
    for oldest, period in RESOLUTIONS:
        if days <= oldest:
            return period
    raise ValueError(f"CloudWatch keeps SageMaker metrics for {MAX_DAYS} days at most")


@dataclass(frozen=True)
class Traffic:
    period_s: int
    #: (start of the period, the highest share of MaxConcurrency in use during it)
    utilization: tuple[tuple[datetime, float], ...]
    invocations: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None

    def since(self, start: datetime) -> Traffic:
        """Only the periods from `start` on (the latency percentiles stay the window's)."""
        return Traffic(
            self.period_s,
            tuple(u for u in self.utilization if u[0] >= start),
            self.invocations,
            self.latency_p50_ms,
            self.latency_p99_ms,
        )


def _period_end(moment: datetime, period: int) -> datetime:
    seconds = moment.timestamp()
    return datetime.fromtimestamp((seconds // period + 1) * period, tz=moment.tzinfo)


def _query(query_id: str, endpoint: str, metric: str, stat: str, period: int) -> dict:
    dimensions = [{"Name": "EndpointName", "Value": endpoint},
                  {"Name": "VariantName", "Value": VARIANT_NAME}]  # fmt: skip
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
    }


def read_traffic(cloudwatch, endpoint: str, start: datetime, end: datetime) -> Traffic:
    """One GetMetricData call (paginated): utilization per period, and over the whole window the
    invocations and ModelLatency's p50 and p99 (CloudWatch publishes it in microseconds)."""
    period = period_for((end - start) / timedelta(days=1))
    # To the end of the period under way, so that the latest datapoints count (GetMetricData
    # takes [StartTime, EndTime), and an EndTime of now drops what was published this second).
    end = _period_end(end, period)
    whole = -(-int((end - start).total_seconds()) // period) * period
    start = end - timedelta(seconds=whole)
    queries = [
        _query("utilization", endpoint, "ServerlessConcurrentExecutionsUtilization", "Maximum", period),
        _query("invocations", endpoint, "Invocations", "Sum", whole),
        _query("p50", endpoint, "ModelLatency", "p50", whole),
        _query("p99", endpoint, "ModelLatency", "p99", whole),
    ]  # fmt: skip
    results: dict[str, list[tuple[datetime, float]]] = {q["Id"]: [] for q in queries}
    paginator = cloudwatch.get_paginator("get_metric_data")
    pages = paginator.paginate(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    for page in pages:
        for result in page["MetricDataResults"]:
            results[result["Id"]] += zip(result["Timestamps"], result["Values"], strict=True)

    def whole_window(query_id: str) -> float | None:
        values = [v for _, v in results[query_id]]
        return max(values) if values else None

    p50, p99 = whole_window("p50"), whole_window("p99")
    return Traffic(
        period_s=period,
        utilization=tuple(sorted(results["utilization"])),
        invocations=int(sum(v for _, v in results["invocations"])),
        latency_p50_ms=None if p50 is None else p50 / 1000,
        latency_p99_ms=None if p99 is None else p99 / 1000,
    )
