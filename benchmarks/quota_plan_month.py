"""Two months of Animl-like traffic through `quota plan`'s rule: sized on the first month's
1-minute peaks, how many calls of the second month would the recommendation have throttled?

The traffic is a model, not Animl's data (none is public): real-time calls arrive one by one
(Poisson, busier by day), bulk uploads arrive in bursts that the `batchinference` Lambda works
through with its 80 calls in flight (8 x 10, animl-api serverless.yml, animl-ingest
ingest-zip/lib/stack.js). Each endpoint's service time is a lognormal around the figure given
below. The rule is animl_ops.quota_plan.plan_endpoint itself, fed 1-minute utilization as
CloudWatch would publish it; for each headroom it prints reserved against recommended
concurrency and the calls the second month would have seen throttled (each retried by SQS after
its visibility timeout: 120 s real-time, 720 s bulk).

    .venv/bin/python -m benchmarks.quota_plan_month [--seed 1]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from animl_ops.quota_plan import Deployed, plan_endpoint
from animl_ops.traffic import Traffic

MONTH_S = 30 * 24 * 3600
BULK_IN_FLIGHT = 80
START = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Endpoint:
    name: str
    max_concurrency: int
    seconds: float  # median service time
    per_minute: float = 0.0  # real-time calls, on average
    uploads: float = 0.0  # bulk uploads a month, on average
    images: float = 0.0  # median images an upload
    bound: int | None = None  # the callers' bound (x 2 stages)


FLEET = (
    Endpoint("megadetector-batch", 80, 4.5, uploads=20, images=3000, bound=160),
    Endpoint("classifier-batch", 80, 0.8, uploads=20, images=1500, bound=160),
    Endpoint("megadetector-realtime", 20, 4.5, per_minute=3.0, bound=40),
    Endpoint("classifier-realtime", 20, 0.8, per_minute=2.0, bound=40),
    Endpoint("rarely-used-batch", 5, 1.0, uploads=1, images=40, bound=160),
)


def calls(
    endpoint: Endpoint, rng: np.random.Generator, growth: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(start, duration) of every call of a month, as the callers would send them unthrottled;
    growth: this month's traffic over the plan's month."""
    starts, durations = [], []
    if endpoint.per_minute:
        count = rng.poisson(endpoint.per_minute * growth * MONTH_S / 60)
        t = rng.uniform(0, MONTH_S, count)
        daytime = np.sin(2 * np.pi * (t % 86400) / 86400 - np.pi / 2) > -0.3
        t = t[daytime | (rng.uniform(size=count) < 0.3)]
        starts.append(t)
        durations.append(rng.lognormal(np.log(endpoint.seconds), 0.4, t.size))
    for _ in range(rng.poisson(endpoint.uploads * growth)):
        images = max(1, int(rng.lognormal(np.log(endpoint.images), 1.0)))
        service = rng.lognormal(np.log(endpoint.seconds), 0.4, images)
        # 80 slots: each image starts when the earliest slot frees up.
        slots = np.full(min(BULK_IN_FLIGHT, images), rng.uniform(0, MONTH_S))
        begin = np.empty(images)
        for i in range(images):
            j = int(np.argmin(slots))
            begin[i] = slots[j]
            slots[j] += service[i]
        starts.append(begin)
        durations.append(service)
    if not starts:
        return np.empty(0), np.empty(0)
    return np.concatenate(starts), np.concatenate(durations)


def in_flight_per_minute(starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """The most calls in flight in each minute of the month (1-second resolution)."""
    seconds = np.zeros(MONTH_S + 1, dtype=np.int32)
    np.add.at(seconds, np.clip(starts.astype(int), 0, MONTH_S), 1)
    np.add.at(seconds, np.clip((starts + durations).astype(int), 0, MONTH_S), -1)
    level = np.cumsum(seconds)[:MONTH_S]
    return level.reshape(-1, 60).max(axis=1)


def throttled(starts: np.ndarray, durations: np.ndarray, limit: int) -> int:
    """Calls that arrive while `limit` calls are in flight (first attempts)."""
    order = np.argsort(starts)
    ends: list[float] = []
    refused = 0
    for s, d in zip(starts[order], durations[order], strict=True):
        ends = [e for e in ends if e > s]
        if len(ends) >= limit:
            refused += 1
        else:
            ends.append(s + d)
    return refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--growth", type=float, default=1.5,
                        help="the second month's traffic over the first's")  # fmt: skip
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    months = {e.name: (calls(e, rng), calls(e, rng, args.growth)) for e in FLEET}
    print(f"seed {args.seed}, the second month at {args.growth:g}x the first's traffic")
    deployed = {
        e.name: Deployed(e.max_concurrency, START - timedelta(days=90), START - timedelta(days=90))
        for e in FLEET
    }
    today = sum(throttled(*months[e.name][1], e.max_concurrency) for e in FLEET)
    print(f"at today's sizes the second month throttles {today:,} calls")
    print(
        f"{'headroom':>8} {'reserved':>8} {'recommended':>11} {'calls month 2':>13} {'throttled':>9}"
    )
    for headroom in (0.0, 0.25, 0.5, 1.0):
        recommended = refused = total = 0
        for e in FLEET:
            (first, second) = months[e.name]
            peaks = in_flight_per_minute(*first)
            seen = Traffic(60, tuple((START + timedelta(minutes=i), min(1.0, p / e.max_concurrency))
                                     for i, p in enumerate(peaks) if p), first[0].size, None, None)  # fmt: skip
            plan = plan_endpoint(
                e.name, "x", e.name, deployed[e.name], seen, START, e.bound, headroom
            )
            recommended += plan.recommended or 0
            refused += throttled(*second, plan.recommended or e.max_concurrency)
            total += second[0].size
        reserved = sum(e.max_concurrency for e in FLEET)
        print(f"{headroom:>8.2f} {reserved:>8} {recommended:>11} {total:>13,} {refused:>9,}")
    print("per endpoint at the default headroom:")
    for e in FLEET:
        (first, second) = months[e.name]
        peaks = in_flight_per_minute(*first)
        print(f"  {e.name:<22} max {e.max_concurrency:>3}, month 1 peak {int(peaks.max()):>3}, "
              f"month 2 peak {int(in_flight_per_minute(*second).max()):>3}")  # fmt: skip


if __name__ == "__main__":
    main()
