"""The patches that make moto server deploy what the real CDK CLI deploys, one defect per module.

Each module says what moto gets wrong, `check()` fails when what it replaces (or adds) has changed
in moto, and `apply()` patches moto in this process. tests/emulator/test_moto_defects.py shows
each defect on plain moto and its absence on the patched server: when plain moto is fixed, that
test fails and the patch can be deleted.
"""

from __future__ import annotations

from importlib.metadata import version

from animl_emulator.moto_patches import (
    alarm_resource,
    binary_invoke_body,
    change_set_lookup,
    dependent_updates,
    endpoint_name_property,
    executed_change_sets,
    import_change_sets,
    metric_percentiles,
    resolved_ssm_parameters,
    update_endpoint,
)

WRITTEN_FOR_MOTO = "5.2.5"
PATCHES = (
    change_set_lookup,
    resolved_ssm_parameters,
    dependent_updates,
    update_endpoint,
    import_change_sets,
    executed_change_sets,
    alarm_resource,
    binary_invoke_body,
    endpoint_name_property,
    metric_percentiles,
)


def apply_all() -> None:
    installed = version("moto")
    assert installed == WRITTEN_FOR_MOTO, (
        f"the moto patches were written for moto {WRITTEN_FOR_MOTO}, not {installed}: "
        "run tests/emulator and delete the patches whose defects are gone"
    )
    for patch in PATCHES:
        patch.check()
    for patch in PATCHES:
        patch.apply()
