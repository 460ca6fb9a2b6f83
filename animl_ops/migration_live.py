"""What the take-over reads of the account: the inventory, the endpoint stacks' resources once
they have settled, and the hand-made configs and models it tagged that nothing uses any more."""

from __future__ import annotations

import time

from animl_ops.aws_account import AwsAccount
from animl_ops.inventory import TAKEOVER_TAG, Inventory, pages
from animl_ops.migration_state import Live, MigrationError

# What an executed change set leaves when it succeeded.
APPLIED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE")
# A stack a change set can still update: rolled back updates and imports included.
UPDATABLE = (*APPLIED, "UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS")


def stack_status(account: AwsAccount, stack: str) -> str | None:
    cf = account.cloudformation
    try:
        return cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except cf.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def wait_settled(account: AwsAccount, stack: str, poll_s: float) -> str | None:
    """The stack's status once no operation runs on it (None: no stack); refuses a stack that
    no change set can update (a failed create or rollback)."""
    while (status := stack_status(account, stack)) is not None and status.endswith("_IN_PROGRESS"):
        if status == "REVIEW_IN_PROGRESS":
            break  # created by a change set not yet executed
        time.sleep(poll_s)
    if status is not None and status not in UPDATABLE and status != "DELETE_COMPLETE":
        raise MigrationError(f"stack {stack} is {status}: see its events and fix it first")
    return None if status == "DELETE_COMPLETE" else status


def _stack_resources(account: AwsAccount, stack: str, poll_s: float) -> dict[str, str]:
    if wait_settled(account, stack, poll_s) is None:
        return {}
    resources = pages(
        account.cloudformation, "list_stack_resources", "StackResourceSummaries", StackName=stack
    )
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}


def _tagged_for(account: AwsAccount, arn: str) -> str | None:
    tags = account.sagemaker.list_tags(ResourceArn=arn).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == TAKEOVER_TAG), None)


def leftovers(account: AwsAccount, inventory: Inventory) -> dict[str, tuple[str, ...]]:
    """Per target, its tagged configs and models that no endpoint uses, configs first (a model
    goes once no config names it)."""
    sm = account.sagemaker
    used_configs = {e.config_name for e in inventory.endpoints.values()}
    used_models = {m for e in inventory.endpoints.values() for m in e.models}
    found: dict[str, list[str]] = {}
    for config in pages(sm, "list_endpoint_configs", "EndpointConfigs"):
        name = config["EndpointConfigName"]
        if name in used_configs:
            continue
        if target := _tagged_for(account, config["EndpointConfigArn"]):
            found.setdefault(target, []).append(name)
    for model in pages(sm, "list_models", "Models"):
        name = model["ModelName"]
        if name in used_models:
            continue
        if target := _tagged_for(account, model["ModelArn"]):
            found.setdefault(target, []).append(name)
    return {target: tuple(names) for target, names in found.items()}


def read_live(account: AwsAccount, stacks: set[str], poll_s: float = 5.0) -> Live:
    resources = {s: _stack_resources(account, s, poll_s) for s in sorted(stacks)}
    inventory = account.inventory()
    return Live(inventory, resources, leftovers(account, inventory))
