"""A validation that fails synthesis when serverless endpoints exceed an account's regional quotas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import jsii
from aws_cdk import Annotations, Stack, Stage, Token
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
    #: A total someone has seen and accepted: no near-quota warning while the total is at most it.
    acknowledged: int | None = None


@dataclass(frozen=True)
class _Share:
    config: sagemaker.CfnEndpointConfig
    max_concurrency: int
    #: The construct that owns the config, e.g. animl-endpoints-01/mirav2-batch.
    owner: str
    stack: Stack


@dataclass(frozen=True)
class _StacksByPath:
    """Finds a construct's stack by path: the stack whose path is the longest prefix of its own."""

    paths: dict[str, Stack]

    @classmethod
    def of(cls, constructs: list[IConstruct]) -> _StacksByPath:
        return cls({c.node.path: c for c in constructs if isinstance(c, Stack)})

    def stack_path(self, path: str) -> str:
        return max((p for p in self.paths if path.startswith(f"{p}/")), key=len)


def _owner(path: str, stack_path: str) -> str:
    """The config's scope, unless that is the stack itself."""
    scope = path.rsplit("/", 1)[0]
    return path if scope == stack_path else scope


@jsii.implements(IValidation)
class ServerlessQuotaGuard:
    """Sums serverless max concurrency and endpoints per (account, region) across all stacks.

    `ServerlessQuotaGuard.add_to(app, quotas)`; the root is the app or a Stage, so that every stack
    is inside it. It runs once, when synthesis validates the root (after aspects, before templates
    are written), and reports as annotations on the endpoint configs: errors fail synthesis, the
    near-quota warning does not. One validation of the root, not an aspect: an aspect would cross
    from the CDK's Node.js process into Python once per construct, which for 200 endpoints costs
    seconds of synthesis.

    Stacks inside a Stage below the root are not checked, and fail synthesis saying so: such a
    Stage's templates are written before the root is validated, so findings could not reach them.
    """

    def __init__(self, root: Stage, quotas: Mapping[AccountRegion, RegionQuota]) -> None:
        self._root = root
        self._quotas = dict(quotas)

    @classmethod
    def add_to(
        cls, root: Stage, quotas: Mapping[AccountRegion, RegionQuota]
    ) -> ServerlessQuotaGuard:
        guard = cls(root, quotas)
        root.node.add_validation(guard)
        return guard

    def validate(self) -> list[str]:
        # Stacks are told apart by path: three reads per config, each a call into Node.js.
        constructs = self._root.node.find_all()
        stacks = _StacksByPath.of(constructs)
        stages = [c.node.path for c in constructs if isinstance(c, Stage) and c is not self._root]
        shares: dict[AccountRegion, list[_Share]] = defaultdict(list)
        where_of: dict[str, AccountRegion | None] = {}
        unchecked = []
        for config in constructs:
            if not isinstance(config, sagemaker.CfnEndpointConfig):
                continue
            path = config.node.path
            if any(path.startswith(f"{stage}/") for stage in stages):
                unchecked.append(
                    f"{path}: the serverless quota guard does not check stacks inside a Stage; "
                    "put the stack directly in the app"
                )
                continue
            stack_path = stacks.stack_path(path)
            stack = stacks.paths[stack_path]
            if stack_path not in where_of:
                where_of[stack_path] = self._account_region(stack, config)
            where = where_of[stack_path]
            for concurrency in self._serverless_concurrencies(stack, config):
                if where is not None and concurrency is not None:
                    shares[where].append(
                        _Share(config, concurrency, _owner(path, stack_path), stack)
                    )
        for where, group in shares.items():
            self._check(where, group)
        return unchecked

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
        # variant into a checked Python struct, most of the guard's time on a large fleet. It holds
        # what the config was given; only tokens need resolving, at one more call.
        variants = config._cfn_properties.get("productionVariants")
        found, problems = _concurrencies(variants)
        if problems:
            found, problems = _concurrencies(stack.resolve(variants))
        for problem in problems:
            Annotations.of(config).add_error(problem)
        return found

    def _check(self, where: AccountRegion, shares: list[_Share]) -> None:
        account, region = where
        quota = self._quotas.get(where)
        largest = max(shares, key=lambda s: s.max_concurrency)
        anchor = largest.config
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
        elif total >= quota.warning_ratio * quota.concurrency and total > (quota.acknowledged or 0):
            # One line on a stack, not on one config: `animl_ops quota` lists the shares.
            Annotations.of(largest.stack).add_warning(
                f"{scope}: serverless max concurrency {total} of the quota of {quota.concurrency} "
                f"({total / quota.concurrency:.0%}, warning from {quota.warning_ratio:.0%}); "
                "`.venv/bin/python -m animl_ops quota` lists the shares; to accept this total set "
                f"quota_warning_acknowledged: {total} on {quota.declared_by} in "
                "model_registry/environments.yaml"
            )
        endpoints = len({s.config for s in shares})
        if endpoints > quota.endpoints:
            Annotations.of(anchor).add_error(
                f"{endpoints} serverless endpoints in {scope}; the limit is {quota.endpoints} "
                "per account and region (endpoint_quota in model_registry/environments.yaml)"
            )


def _concurrencies(variants: object) -> tuple[list[int | None], list[str]]:
    """The max concurrency of each serverless variant (None where it is not a number), and what
    keeps the guard from checking them."""
    if not isinstance(variants, list):
        return [], ["production variants are a token; the serverless quota cannot be checked"]
    found: list[int | None] = []
    problems = []
    for variant in variants:
        serverless = variant.get("serverlessConfig") if isinstance(variant, dict) else None
        if serverless is None:
            continue
        value = serverless.get("maxConcurrency") if isinstance(serverless, dict) else None
        found.append(value if isinstance(value, int) else None)
        if not isinstance(value, int):
            problems.append(
                f"serverless max concurrency {value!r} cannot be resolved at synth time; "
                "the quota guard needs a literal number"
            )
    return found, problems
