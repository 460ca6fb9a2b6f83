"""Monthly cost of a serverless endpoint against a dedicated real-time instance, and the break-even."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PRICES = Path(__file__).with_name("prices.yaml")
SECONDS_PER_MONTH = 730 * 3600  # AWS bills a month as 730 hours


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerlessPrices(_Strict):
    compute_per_gb_second: float = Field(gt=0)
    data_per_gb: float = Field(ge=0)


class RegionPrices(_Strict):
    serverless: ServerlessPrices
    realtime_instance_per_hour: dict[str, float]


class PriceList(_Strict):
    as_of: str
    currency: str
    regions: dict[str, RegionPrices]


class PricesError(ValueError):
    pass


def load_prices(path: Path = DEFAULT_PRICES) -> PriceList:
    try:
        return PriceList.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as error:
        raise PricesError(f"{path}: cannot read the price list: {error}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PricesError(f"{path}: {where}: {first['msg']}") from error


@dataclass(frozen=True)
class Workload:
    images_per_month: int
    seconds_per_image: float
    memory_mb: int
    max_concurrency: int
    kb_per_image: float = 300.0


@dataclass(frozen=True)
class CostComparison:
    region: str
    instance_type: str
    prices_as_of: str
    serverless_per_month: float
    instances_needed: int
    dedicated_per_month: float
    #: Where one instance costs what serverless does; None where one instance saturates first
    #: (then serverless is cheaper at any volume: n instances serve at most n times as much).
    break_even_images_per_month: int | None
    break_even_multiple: float | None
    #: What one instance serves in a month below its target utilization.
    instance_capacity_per_month: int
    # The most images the endpoint can serve in a month at its max concurrency.
    serverless_capacity_per_month: int

    @property
    def cheaper(self) -> str:
        return (
            "serverless" if self.serverless_per_month <= self.dedicated_per_month else "dedicated"
        )

    def as_json(self) -> dict:
        return asdict(self) | {"cheaper": self.cheaper}


def compare(
    workload: Workload,
    prices: PriceList,
    region: str,
    instance_type: str,
    instance_utilization: float = 0.7,
) -> CostComparison:
    """A dedicated instance serves one image at a time per instance, at the same seconds per
    image, and is sized to stay below `instance_utilization`."""
    if region not in prices.regions:
        raise PricesError(
            f"no prices for region {region}; the price list has {sorted(prices.regions)}"
        )
    regional = prices.regions[region]
    if instance_type not in regional.realtime_instance_per_hour:
        known = sorted(regional.realtime_instance_per_hour)
        raise PricesError(f"no price for {instance_type} in {region}; the price list has {known}")
    per_image = (
        workload.seconds_per_image * workload.memory_mb / 1024
    ) * regional.serverless.compute_per_gb_second + (
        workload.kb_per_image / 1024 / 1024
    ) * regional.serverless.data_per_gb
    serverless = workload.images_per_month * per_image
    # floor, but not below a whole number that float division misses (30,659.999... for 30,660)
    capacity = math.floor(
        SECONDS_PER_MONTH * instance_utilization / workload.seconds_per_image + 1e-6
    )
    instances = max(1, math.ceil(workload.images_per_month / capacity))
    hourly = regional.realtime_instance_per_hour[instance_type]
    dedicated = instances * hourly * SECONDS_PER_MONTH / 3600
    break_even: int | None = math.ceil(hourly * SECONDS_PER_MONTH / 3600 / per_image)
    if break_even is not None and break_even > capacity:
        break_even = None
    return CostComparison(
        region=region,
        instance_type=instance_type,
        prices_as_of=prices.as_of,
        serverless_per_month=round(serverless, 2),
        instances_needed=instances,
        dedicated_per_month=round(dedicated, 2),
        break_even_images_per_month=break_even,
        break_even_multiple=(
            None if break_even is None else round(break_even / workload.images_per_month, 1)
        ),
        instance_capacity_per_month=capacity,
        serverless_capacity_per_month=int(
            workload.max_concurrency * SECONDS_PER_MONTH / workload.seconds_per_image
        ),
    )


@dataclass(frozen=True)
class SpeedUp:
    """The same workload on a graph `latency_ratio` times as slow (below 1: faster)."""

    latency_ratio: float
    serverless_per_month: float
    #: Concurrency is busy seconds per second: a faster graph serves the same peak with less.
    concurrency_for_same_peak: int

    def as_json(self) -> dict:
        return asdict(self)


def speed_up(
    workload: Workload,
    prices: PriceList,
    region: str,
    instance_type: str,
    latency_ratio: float,
) -> SpeedUp:
    faster = Workload(
        workload.images_per_month,
        workload.seconds_per_image * latency_ratio,
        workload.memory_mb,
        workload.max_concurrency,
        workload.kb_per_image,
    )
    return SpeedUp(
        latency_ratio=latency_ratio,
        serverless_per_month=compare(faster, prices, region, instance_type).serverless_per_month,
        concurrency_for_same_peak=max(1, math.ceil(workload.max_concurrency * latency_ratio)),
    )
