"""Onboarding a partner: its environment entry, `cdk bootstrap` and `cdk deploy` in its own account."""

from __future__ import annotations

from animl_emulator.deployment import deploy_environment
from tests.e2e.test_deploy import assert_matches_registry

PARTNER_ACCOUNT = "210987654321"


def test_the_partner_environment_lives_in_its_own_account_and_quota(
    animl, registry, registry_assembly, tmp_path
):
    animl_before = animl.inventory()
    workdir = tmp_path / "partner"
    workdir.mkdir()
    partner_account = animl.emulator.assume_account(PARTNER_ACCOUNT)
    partner = deploy_environment(
        animl.emulator,
        registry.root,
        "partner-example",
        partner_account,
        workdir,
        registry_assembly,
    )
    assert partner.region == "ca-central-1"

    deployed = partner.inventory()
    assert_matches_registry(partner, deployed)
    assert sorted(deployed.parameters) == [
        "/ml/deepfaune-ne-batch-endpoint-prod",
        "/ml/megadetector-v5a-batch-endpoint-prod",
        "/ml/megadetector-v5a-realtime-endpoint-prod",
        "/ml/mirav2-batch-endpoint-prod",
        "/ml/mirav2-realtime-endpoint-prod",
    ]
    # The partner's resources exist only in its account and region, and Animl's are untouched.
    assert animl.inventory() == animl_before
    for account, region in (
        (animl.account, "ca-central-1"),
        (partner_account, "us-west-2"),
    ):
        elsewhere = partner.inventory(account, region)
        assert (elsewhere.endpoints, elsewhere.parameters) == ({}, {})

    # The same 940 of concurrency that fits Animl's us-west-2 quota overflows the partner's 500.
    environments = registry.environments()
    environments["environments"][1]["models"] = "all"
    registry.write_environments(environments)
    result = partner.cli.run(
        "deploy",
        "--output",
        str(workdir / "cdk.out.all-models"),
        "--context",
        f"registry={registry.root}",
        "--require-approval",
        "never",
        partner.stacks,
        check=False,
    )
    assert result.returncode != 0
    assert (
        "environment partner-example (account 210987654321, ca-central-1) is 940 of a quota of 500"
        in result.stderr
    )
    # Only errors are printed on failure: Animl's identical 940 is no error in us-west-2.
    assert "environment animl" not in result.stderr
    assert partner.inventory() == deployed
