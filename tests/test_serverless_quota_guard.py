"""The quota guard over whole apps: under, near, over, across stacks and across accounts."""

from __future__ import annotations

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Annotations, Match
from constructs import Construct

from animl_constructs.serverless_quota_guard import RegionQuota, ServerlessQuotaGuard

ANIML = ("111111111111", "us-west-2")
PARTNER = ("222222222222", "ca-central-1")


def quota(
    concurrency: int,
    endpoints: int = 50,
    warning_ratio: float = 0.9,
    name: str = "animl",
    acknowledged: int | None = None,
) -> RegionQuota:
    return RegionQuota(concurrency, endpoints, warning_ratio, name, acknowledged)


def guarded_app(quotas: dict) -> cdk.App:
    app = cdk.App()
    ServerlessQuotaGuard.add_to(app, quotas)
    return app


def stack(app: cdk.App, name: str, where=ANIML) -> cdk.Stack:
    return cdk.Stack(app, name, env=cdk.Environment(account=where[0], region=where[1]))


def serverless_config(scope: cdk.Stack, id_: str, max_concurrency) -> sagemaker.CfnEndpointConfig:
    return sagemaker.CfnEndpointConfig(
        scope,
        id_,
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name="m",
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    max_concurrency=max_concurrency, memory_size_in_mb=6144
                ),
            )
        ],
    )


def messages(s: cdk.Stack, level: str) -> list[str]:
    found = getattr(Annotations.from_stack(s), f"find_{level}")("*", Match.any_value())
    return [m.entry.data for m in found]


def test_under_the_quota_reports_nothing():
    app = guarded_app({ANIML: quota(1000)})
    s = stack(app, "A")
    for i in range(5):
        serverless_config(s, f"c{i}", 100)
    assert messages(s, "error") == []
    assert messages(s, "warning") == []


def test_at_ninety_percent_warns_in_one_line_on_the_stack_saying_how_to_accept_it():
    app = guarded_app({ANIML: quota(1000)})
    s = stack(app, "A")
    serverless_config(s, "big", 800)
    serverless_config(s, "small", 100)
    assert messages(s, "error") == []
    (warning,) = Annotations.from_stack(s).find_warning("/A", Match.any_value())
    assert warning.entry.data == (
        "environment animl (account 111111111111, us-west-2): serverless max concurrency 900 of "
        "the quota of 1000 (90%, warning from 90%); `.venv/bin/python -m animl_ops quota` lists "
        "the shares; to accept this total set quota_warning_acknowledged: 900 on animl in "
        "model_registry/environments.yaml"
    )


def test_an_acknowledged_total_stops_the_warning_until_the_total_grows():
    for acknowledged, warnings in ((900, 0), (950, 0), (899, 1)):
        app = guarded_app({ANIML: quota(1000, acknowledged=acknowledged)})
        s = stack(app, "A")
        serverless_config(s, "big", 900)
        assert len(messages(s, "warning")) == warnings, acknowledged


def test_warning_level_is_configurable():
    app = guarded_app({ANIML: quota(1000, warning_ratio=0.5)})
    s = stack(app, "A")
    serverless_config(s, "c", 500)
    assert len(messages(s, "warning")) == 1


def test_over_the_quota_is_an_error_naming_environment_total_quota_and_shares_largest_first():
    app = guarded_app({ANIML: quota(1000)})
    s = stack(app, "A")
    serverless_config(s, "small", 20)
    serverless_config(s, "large", 200)
    for i in range(4):
        serverless_config(s, f"mid{i}", 200)
    (error,) = messages(s, "error")
    assert (
        "environment animl (account 111111111111, us-west-2) is 1020 of a quota of 1000 (L-96300102)"
        in error
    )
    assert (
        "Shares, largest first: A/large 200, A/mid0 200, A/mid1 200, A/mid2 200, A/mid3 200, A/small 20"
        in error
    )


def test_concurrency_is_summed_across_stacks_of_one_account_and_region():
    app = guarded_app({ANIML: quota(1000)})
    first, second = stack(app, "First"), stack(app, "Second")
    serverless_config(first, "a", 200)
    serverless_config(first, "b", 200)
    serverless_config(second, "c", 200)
    serverless_config(second, "d", 200)
    serverless_config(second, "e", 120)
    assert messages(first, "error") + messages(second, "error") == []
    serverless_config(second, "f", 100)
    errors = messages(first, "error") + messages(second, "error")
    assert len(errors) == 1
    assert "is 1020 of a quota of 1000" in errors[0]
    assert (
        "First/a 200, First/b 200, Second/c 200, Second/d 200, Second/e 120, Second/f 100"
        in errors[0]
    )


def test_accounts_and_regions_are_checked_separately():
    app = guarded_app({ANIML: quota(1000), PARTNER: quota(500, name="partner")})
    animl, partner = stack(app, "Animl", ANIML), stack(app, "Partner", PARTNER)
    serverless_config(animl, "a", 200)
    serverless_config(animl, "b", 200)
    serverless_config(animl, "c", 200)
    serverless_config(partner, "p1", 200)
    serverless_config(partner, "p2", 200)
    serverless_config(partner, "p3", 200)
    assert messages(animl, "error") == []
    (error,) = messages(partner, "error")
    assert (
        "environment partner (account 222222222222, ca-central-1) is 600 of a quota of 500" in error
    )


def test_more_endpoints_than_the_region_allows_is_an_error():
    app = guarded_app({ANIML: quota(1000, endpoints=50)})
    s = stack(app, "A")
    for i in range(51):
        serverless_config(s, f"c{i}", 1)
    errors = messages(s, "error")
    assert any(
        "51 serverless endpoints in environment animl" in e and "the limit is 50" in e
        for e in errors
    )


def test_a_token_concurrency_is_an_error_not_a_skip():
    app = guarded_app({ANIML: quota(1000)})
    s = stack(app, "A")
    parameter = cdk.CfnParameter(s, "Concurrency", type="Number", default=10)
    serverless_config(s, "c", parameter.value_as_number)
    (error,) = messages(s, "error")
    assert "cannot be resolved at synth time" in error


@jsii.implements(cdk.IStableNumberProducer)
class _Produces:
    def __init__(self, value: int) -> None:
        self.value = value

    def produce(self) -> int:
        return self.value


def test_a_token_that_resolves_to_a_number_is_counted():
    app = guarded_app({ANIML: quota(500)})
    s = stack(app, "A")
    serverless_config(s, "c", cdk.Lazy.number(_Produces(600)))
    (error,) = messages(s, "error")
    assert "is 600 of a quota of 500" in error


def test_nested_stacks_count_toward_their_account_with_their_paths():
    app = guarded_app({ANIML: quota(500)})
    outer = stack(app, "Outer")
    serverless_config(stack(app, "Other"), "c", 100)
    serverless_config(outer, "direct", 200)
    serverless_config(Construct(outer, "model-x"), "Config", 150)
    serverless_config(cdk.NestedStack(outer, "Inner"), "nested", 100)
    (error,) = messages(outer, "error")
    assert "is 550 of a quota of 500" in error
    assert "Outer/direct 200, Outer/model-x 150, Other/c 100, Outer/Inner/nested 100" in error


def test_a_stack_inside_a_stage_fails_synthesis_saying_it_is_not_checked():
    app = guarded_app({ANIML: quota(500)})
    stage = cdk.Stage(app, "Prod", env=cdk.Environment(account=ANIML[0], region=ANIML[1]))
    serverless_config(cdk.Stack(stage, "Inside"), "c", 100)
    with pytest.raises(RuntimeError, match="Prod/Inside/c: the serverless quota guard does not"):
        app.synth()


def test_a_stack_without_account_and_region_is_an_error():
    app = guarded_app({ANIML: quota(1000)})
    s = cdk.Stack(app, "Agnostic")
    serverless_config(s, "c", 10)
    (error,) = messages(s, "error")
    assert "has no explicit account and region" in error


def test_an_undeclared_account_and_region_is_an_error():
    app = guarded_app({ANIML: quota(1000)})
    s = stack(app, "Elsewhere", PARTNER)
    serverless_config(s, "c", 10)
    (error,) = messages(s, "error")
    assert "no serverless quota is declared for account 222222222222 in ca-central-1" in error


def test_instance_backed_variants_do_not_count():
    app = guarded_app({ANIML: quota(10)})
    s = stack(app, "A")
    sagemaker.CfnEndpointConfig(
        s,
        "instance",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name="m",
                instance_type="ml.m5.large",
                initial_instance_count=1,
            )
        ],
    )
    serverless_config(s, "c", 5)
    assert messages(s, "error") == []
