"""The take-over's invariants, sampled from the account while it runs: each parameter exists and
names an endpoint in service; the region's total max concurrency stays within the quota; no
endpoint is deleted within the drain time of the last moment a parameter named it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from animl_emulator.emulator import Account, Emulator
from model_registry.naming import PARAMETER_PREFIX


@dataclass(eq=False)
class Sampler(threading.Thread):
    """Reads the 40 parameters and every endpoint as often as it can, noting any violation."""

    emulator: Emulator
    account: Account
    region: str
    parameters: set[str]
    quota: int
    drain_seconds: float
    violations: list[str] = field(default_factory=list)
    samples: int = 0
    seen_totals: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.last_named: dict[str, float] = {}
        self.concurrency: dict[str, int] = {}

    def run(self) -> None:
        ssm = self.emulator.client("ssm", self.account, self.region)
        sagemaker = self.emulator.client("sagemaker", self.account, self.region)
        alive: set[str] = set()
        while not self.stopped.is_set():
            # A value is seen no earlier than its read starts, a deletion no later than its
            # listing ends: the gap between them never comes out shorter than it was, however
            # slowly a loaded machine answers.
            read_at = time.monotonic()
            values = {
                p["Name"]: p["Value"]
                for page in ssm.get_paginator("get_parameters_by_path").paginate(
                    Path=PARAMETER_PREFIX, Recursive=True
                )
                for p in page["Parameters"]
            }
            endpoints = {
                e["EndpointName"]: e["EndpointStatus"]
                for page in sagemaker.get_paginator("list_endpoints").paginate()
                for e in page["Endpoints"]
            }
            listed_at = time.monotonic()
            for parameter in self.parameters:
                value = values.get(parameter)
                if value is None:
                    self.violations.append(f"{parameter} missing")
                elif endpoints.get(value) != "InService":
                    self.violations.append(f"{parameter} names {value}: {endpoints.get(value)}")
                else:
                    self.last_named[value] = read_at
            for gone in alive - set(endpoints):
                named = self.last_named.get(gone)
                if named is not None and listed_at - named < self.drain_seconds:
                    self.violations.append(f"{gone} deleted {listed_at - named:.1f} s after use")
            alive = set(endpoints)
            total = 0
            for name in endpoints:
                try:
                    config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
                except sagemaker.exceptions.ClientError:
                    continue  # deleted since the listing: it holds no concurrency any more
                if config not in self.concurrency:
                    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config)[
                        "ProductionVariants"
                    ][0]
                    self.concurrency[config] = variant["ServerlessConfig"]["MaxConcurrency"]
                total += self.concurrency[config]
            if total > self.quota:
                self.violations.append(f"total max concurrency {total} over {self.quota}")
            self.seen_totals.append(total)
            self.samples += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
