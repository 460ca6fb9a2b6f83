"""Deploys that fail: what the emulator rejects, and what never reaches it."""

from __future__ import annotations

HAND_MADE = "/ml/nzdoc-extra-batch-endpoint-prod"


def add_nzdoc_extra(registry, max_concurrency: int) -> None:
    extra = registry.model("nzdoc") | {"name": "nzdoc-extra"}
    extra["endpoints"]["batch"]["max_concurrency"] = max_concurrency
    registry.write_model("nzdoc-extra", extra)


def test_a_rejected_deploy_leaves_every_parameter_on_a_working_endpoint(animl, registry):
    # An engineer typed the new model's parameter into the console before it was deployed.
    ssm = animl.emulator.client("ssm", animl.account, animl.region)
    ssm.put_parameter(Name=HAND_MADE, Value="typed-by-hand", Type="String")
    before = animl.inventory()

    add_nzdoc_extra(registry, max_concurrency=20)
    result = animl.deploy(animl.synth("with-nzdoc-extra"), check=False)

    assert result.returncode != 0
    assert "ParameterAlreadyExists" in result.stderr
    after = animl.inventory()
    assert after.parameters[HAND_MADE] == "typed-by-hand"
    for parameter, endpoint in before.parameters.items():
        if parameter == HAND_MADE:
            continue
        assert after.parameters[parameter] == endpoint
        assert after.endpoints[endpoint] == before.endpoints[endpoint]


def test_a_registry_over_quota_never_reaches_the_account(animl, registry, tmp_path):
    before = animl.inventory()
    add_nzdoc_extra(registry, max_concurrency=80)

    result = animl.cli.run(
        "deploy",
        "--output",
        str(tmp_path / "cdk.out.over-quota"),
        "--context",
        f"registry={registry.root}",
        "--require-approval",
        "never",
        animl.stacks,
        check=False,
    )

    assert result.returncode != 0
    assert "is 1020 of a quota of 1000 (L-96300102)" in result.stderr
    assert "synthesis failed: no cloud assembly was written" in result.stderr
    assert animl.inventory() == before
