"""GetMetricData answers percentile statistics (`p50`, `p99`, `p99.9`).

moto 5.2 knows only Sum, Average, Minimum, Maximum and SampleCount: any other `Stat` comes back
as None, which its response cannot serialize (a 500). `quota plan` reads ModelLatency's p50 and
p99 as CloudWatch gives them. CloudWatch's percentiles are estimates over the period's samples;
here, the nearest-rank percentile of the samples put in that period.
"""

from __future__ import annotations

import math
import re
from typing import Any

from moto.cloudwatch.models import Statistics

PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")
_original = Statistics.get_statistics_for_type


def check() -> None:
    probe = Statistics(["p99"], None)  # type: ignore[arg-type]
    assert _original(probe, "p99") is None, "moto computes percentiles now"


def _statistic(self: Statistics, stat: str) -> Any:
    match = PERCENTILE.match(stat)
    values = sorted(self.metric_single_values_list)
    if match is None or not values:
        return _original(self, stat)
    rank = math.ceil(float(match.group(1)) / 100 * len(values))
    return values[max(rank, 1) - 1]


def apply() -> None:
    Statistics.get_statistics_for_type = _statistic
