"""A validation that fails synthesis when serverless endpoints exceed an account's regional quotas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import jsii
from aws_cdk import Annotations, Stack, Token
from aws_cdk import aws_sagemaker as sagemaker
from constructs import IConstruct, IValidation

from animl_contract.limits import CONCURRENCY_QUOTA_CODE

AccountRegion = tuple[str, str]


@dataclass(frozen=True)
class RegionQuota:
    """The serverless limits of one account and region, and who declared them."""

    concurrency: int
    endpoints: int
    warning_ratio: float
    declared_by: str


@dataclass(frozen=True)
class _Share:
    config: sagemaker.CfnEndpointConfig
    max_concurrency: int
    #: The construct that owns the config, e.g. animl-endpoints-01/mirav2-batch.
    owner: str


def _owner(config: sagemaker.CfnEndpointConfig) -> str:
    scope = config.node.scope
    return scope.node.path if scope is not None and not Stack.is_stack(scope) else config.node.path


@jsii.implements(IValidation)
class ServerlessQuotaGuard:
    """Sums serverless max concurrency and endpoints per (account, region) across all stacks.

    `ServerlessQuotaGuard.add_to(app, quotas)`. It runs once, when synthesis validates the app
    (after aspects, before templates are written), and reports as annotations on the endpoint
    configs: errors fail synthesis, the near-quota warning does not. One validation of the root,
    not an aspect: an aspect would cross from the CDK's Node.js process into Python once per
    construct, which for 200 endpoints costs seconds of synthesis.
    """

    def __init__(self, root: IConstruct, quotas: Mapping[AccountRegion, RegionQuota]) -> None:
        self._root = root
        self._quotas = dict(quotas)

    @classmethod
    def add_to(
        cls, root: IConstruct, quotas: Mapping[AccountRegion, RegionQuota]
    ) -> ServerlessQuotaGuard:
        guard = cls(root, quotas)
        root.node.add_validation(guard)
        return guard

    def validate(self) -> list[str]:
        shares: dict[AccountRegion, list[_Share]] = defaultdict(list)
        where_of: dict[Stack, AccountRegion | None] = {}
        for config in self._root.node.find_all():
            if not isinstance(config, sagemaker.CfnEndpointConfig):
                continue
            stack = Stack.of(config)
            if stack not in where_of:
                where_of[stack] = self._account_region(stack, config)
            where = where_of[stack]
            for concurrency in self._serverless_concurrencies(stack, config):
                if where is not None and concurrency is not None:
                    shares[where].append(_Share(config, concurrency, _owner(config)))
        for where, group in shares.items():
            self._check(where, group)
        return []

    @staticmethod
    def _account_region(stack: Stack, config: sagemaker.CfnEndpointConfig) -> AccountRegion | None:
        if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
            Annotations.of(config).add_error(
                f"{stack.stack_name} has no explicit account and region, so its serverless "
                "quota cannot be checked; give the stack an env"
            )
            return None
        return stack.account, stack.region

    @staticmethod
    def _serverless_concurrencies(
        stack: Stack, config: sagemaker.CfnEndpointConfig
    ) -> list[int | None]:
        """One entry per serverless variant; None (after reporting an error) if unresolvable."""
        # The untyped property map, not the typed `production_variants`: reading that turns every
        # variant into a checked Python struct, most of the guard's time on a large fleet.
        variants = stack.resolve(config._cfn_properties.get("productionVariants"))
        if not isinstance(variants, list):
            Annotations.of(config).add_error(
                "production variants are a token; the serverless quota cannot be checked"
            )
            return []
        found: list[int | None] = []
        for variant in variants:
            serverless = variant.get("serverlessConfig") if isinstance(variant, dict) else None
            if serverless is None:
                continue
            value = serverless.get("maxConcurrency") if isinstance(serverless, dict) else None
            if isinstance(value, int):
                found.append(value)
            else:
                Annotations.of(config).add_error(
                    f"serverless max concurrency {value!r} cannot be resolved at synth time; "
                    "the quota guard needs a literal number"
                )
                found.append(None)
        return found

    def _check(self, where: AccountRegion, shares: list[_Share]) -> None:
        account, region = where
        quota = self._quotas.get(where)
        anchor = max(shares, key=lambda s: s.max_concurrency).config
        if quota is None:
            Annotations.of(anchor).add_error(
                f"no serverless quota is declared for account {account} in {region}; "
                "add the environment to model_registry/environments.yaml"
            )
            return
        scope = f"environment {quota.declared_by} (account {account}, {region})"
        total = sum(s.max_concurrency for s in shares)
        ranked = sorted(shares, key=lambda s: (-s.max_concurrency, s.owner))
        breakdown = ", ".join(f"{s.owner} {s.max_concurrency}" for s in ranked)
        usage = (
            f"serverless max concurrency in {scope} is {total} of a quota of {quota.concurrency} "
            f"({CONCURRENCY_QUOTA_CODE}). Shares, largest first: {breakdown}"
        )
        if total > quota.concurrency:
            Annotations.of(anchor).add_error(
                f"{usage}. Lower max_concurrency in the registry or raise the quota "
                "(concurrency_quota in model_registry/environments.yaml, after Service Quotas "
                "has granted it)."
            )
        elif total >= quota.warning_ratio * quota.concurrency:
            Annotations.of(anchor).add_warning_v2(
                "animl:serverless-quota-near",
                f"{usage}. That is {total / quota.concurrency:.0%}, at or above the "
                f"{quota.warning_ratio:.0%} warning level.",
            )
        endpoints = len({s.config for s in shares})
        if endpoints > quota.endpoints:
            Annotations.of(anchor).add_error(
                f"{endpoints} serverless endpoints in {scope}; the limit is {quota.endpoints} "
                "per account and region (endpoint_quota in model_registry/environments.yaml)"
            )
