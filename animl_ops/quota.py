"""Serverless concurrency per account and region: planned from the registry, or read live."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import botocore.exceptions

from animl_contract import limits
from animl_ops.inventory import Inventory
from animl_ops.plan import PlannedEndpoint, planned_endpoints
from model_registry.loader import Fleet


@dataclass(frozen=True)
class Drift:
    parameter: str
    problem: str


@dataclass(frozen=True)
class RegionUsage:
    account: str
    region: str
    environments: tuple[str, ...]
    quota: int
    quota_source: str
    concurrency: int
    endpoints: int
    endpoint_quota: int
    unmanaged: tuple[str, ...] = ()
    drift: tuple[Drift, ...] = field(default=())
    #: A take-over in progress: hand-made endpoint -> the registry endpoint replacing it.
    takeover: tuple[tuple[str, str], ...] = ()

    @property
    def headroom(self) -> int:
        return self.quota - self.concurrency

    @property
    def over_quota(self) -> bool:
        return self.concurrency > self.quota or self.endpoints > self.endpoint_quota

    def as_json(self) -> dict:
        return asdict(self) | {"headroom": self.headroom, "over_quota": self.over_quota}


def _planned_by_region(fleet: Fleet) -> dict[tuple[str, str], list[tuple[str, PlannedEndpoint]]]:
    planned: dict[tuple[str, str], list[tuple[str, PlannedEndpoint]]] = {}
    for environment in fleet.environments:
        for endpoint in planned_endpoints(fleet, environment):
            key = (environment.account, environment.region)
            planned.setdefault(key, []).append((environment.name, endpoint))
    return planned


def planned_usage(fleet: Fleet) -> list[RegionUsage]:
    # The loader has checked that environments sharing an account and region declare one quota.
    declared = {(e.account, e.region): e for e in fleet.environments}
    return [
        RegionUsage(
            account=account,
            region=region,
            environments=tuple(sorted({name for name, _ in endpoints})),
            quota=declared[account, region].concurrency_quota,
            quota_source="environments.yaml",
            concurrency=sum(e.max_concurrency for _, e in endpoints),
            endpoints=len(endpoints),
            endpoint_quota=declared[account, region].endpoint_quota,
        )
        for (account, region), endpoints in sorted(_planned_by_region(fleet).items())
    ]


def _drift(planned: list[PlannedEndpoint], inventory: Inventory) -> list[Drift]:
    found = []
    for endpoint in planned:
        for parameter in endpoint.parameters:
            name = inventory.parameters.get(parameter)
            deployed = inventory.endpoints.get(name) if name else None
            if name is None:
                found.append(Drift(parameter, "parameter missing"))
            elif deployed is None:
                found.append(Drift(parameter, f"names endpoint {name}, which does not exist"))
            elif deployed.replaced_by is not None:
                continue  # a hand-made endpoint that `migrate run` is replacing
            elif not deployed.serverless:
                found.append(Drift(parameter, f"endpoint {name} is not serverless"))
            elif (
                deployed.memory_mb,
                deployed.max_concurrency,
                deployed.provisioned_concurrency,
            ) != (endpoint.memory_mb, endpoint.max_concurrency, endpoint.provisioned_concurrency):
                found.append(
                    Drift(
                        parameter,
                        f"endpoint {name} has {deployed.memory_mb} MB, max concurrency "
                        f"{deployed.max_concurrency} and provisioned "
                        f"{deployed.provisioned_concurrency}; the registry says "
                        f"{endpoint.memory_mb} MB, {endpoint.max_concurrency} and "
                        f"{endpoint.provisioned_concurrency}",
                    )
                )
    return found


def live_usage(
    fleet: Fleet, planned: RegionUsage, inventory: Inventory, live_quota: int | None
) -> RegionUsage:
    """The account as it is: every serverless endpoint counts, whoever made it."""
    expected = [e for _, e in _planned_by_region(fleet)[planned.account, planned.region]]
    managed = {
        inventory.parameters[p] for e in expected for p in e.parameters if p in inventory.parameters
    }
    serverless = [e for e in inventory.endpoints.values() if e.serverless]
    # The stacks' endpoint of a take-over in progress, before its flip: no parameter names it yet.
    replacements = {e.replaced_by for e in serverless if e.replaced_by}
    return RegionUsage(
        account=planned.account,
        region=planned.region,
        environments=planned.environments,
        quota=live_quota if live_quota is not None else planned.quota,
        quota_source=(
            "Service Quotas"
            if live_quota is not None
            else "environments.yaml (Service Quotas unreadable)"
        ),
        concurrency=sum(e.max_concurrency or 0 for e in serverless),
        endpoints=len(serverless),
        endpoint_quota=planned.endpoint_quota,
        unmanaged=tuple(
            sorted(
                e.name
                for e in serverless
                if e.name not in managed | replacements and not e.replaced_by
            )
        ),
        drift=tuple(_drift(expected, inventory)),
        takeover=tuple(sorted((e.name, e.replaced_by) for e in serverless if e.replaced_by)),
    )


def read_quota(service_quotas) -> int | None:
    """The account's serverless concurrency quota, or None where Service Quotas cannot tell."""
    try:
        quota = service_quotas.get_service_quota(
            ServiceCode=limits.CONCURRENCY_QUOTA_SERVICE, QuotaCode=limits.CONCURRENCY_QUOTA_CODE
        )
        return int(quota["Quota"]["Value"])
    except (botocore.exceptions.ClientError, KeyError):
        return None
