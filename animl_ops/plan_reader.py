"""The account and CloudWatch as `quota plan` needs them: each registry endpoint's deployed size,
its traffic over the window, and what else holds serverless concurrency in the region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import boto3
import botocore.exceptions

from animl_ops.inventory import read_inventory
from animl_ops.plan import PlannedEndpoint, planned_endpoints
from animl_ops.quota import read_quota
from animl_ops.quota_plan import Deployed, FleetPlan, plan_endpoint
from animl_ops.traffic import Traffic, read_traffic
from model_registry.callers import caller_bound
from model_registry.loader import Fleet
from model_registry.schema import ENDPOINT_KINDS, EnvironmentSpec


def _deployed(sagemaker, name: str) -> Deployed | None:
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationException":
            return None  # "Could not find endpoint"
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    serverless = config["ProductionVariants"][0].get("ServerlessConfig")
    if serverless is None:
        return None  # on instances: outside the serverless quota
    return Deployed(
        max_concurrency=serverless["MaxConcurrency"],
        created=endpoint["CreationTime"],
        modified=endpoint["LastModifiedTime"],
    )


@dataclass(frozen=True)
class Observed:
    """What the account said, once: each registry endpoint's size and traffic, and the region."""

    environment: EnvironmentSpec
    days: float
    start: datetime
    endpoints: tuple[tuple[PlannedEndpoint, Deployed | None, Traffic | None], ...]
    quota: int
    #: The region's serverless concurrency held by endpoints that are not the environment's.
    others: int

    def plan(self, headroom: float, latency_ratio: float = 1.0) -> FleetPlan:
        env = self.environment
        plans = tuple(
            plan_endpoint(
                planned.model,
                planned.kind,
                planned.name,
                deployed,
                traffic,
                self.start,
                caller_bound(env, planned.kind),
                headroom,
                latency_ratio,
            )
            for planned, deployed, traffic in self.endpoints
        )
        bounds = [b for kind in ENDPOINT_KINDS if (b := caller_bound(env, kind)) is not None]
        return FleetPlan(
            environment=env.name, account=env.account, region=env.region, days=self.days,
            quota=self.quota, endpoints=plans, callers_in_flight=sum(bounds) if bounds else None,
            others=self.others,
        )  # fmt: skip


def observe(
    session: boto3.Session, fleet: Fleet, environment: EnvironmentSpec, days: float, now: datetime
) -> Observed:
    sagemaker, cloudwatch = session.client("sagemaker"), session.client("cloudwatch")
    start = now - timedelta(days=days)
    endpoints = []
    for planned in planned_endpoints(fleet, environment):
        deployed = _deployed(sagemaker, planned.name)
        traffic = read_traffic(cloudwatch, planned.name, start, now) if deployed else None
        endpoints.append((planned, deployed, traffic))
    inventory = read_inventory(sagemaker, session.client("ssm"))
    ours = sum(d.max_concurrency for _, d, _ in endpoints if d is not None)
    return Observed(
        environment=environment,
        days=days,
        start=start,
        endpoints=tuple(endpoints),
        quota=read_quota(session.client("service-quotas")) or environment.concurrency_quota,
        others=inventory.serverless_concurrency() - ours,
    )
