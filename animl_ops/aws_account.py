"""One AWS account and region as the ops commands use it: credentials checked against the
environment's account, one boto3 client per service, and the account's inventory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from animl_ops.inventory import Inventory, read_inventory


class WrongAccountError(RuntimeError):
    """The credentials belong to another account than the environment's."""


@dataclass
class AwsAccount:
    session: boto3.Session
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, account: str, region: str) -> AwsAccount:
        """The account in `region`, refused unless the credentials belong to `account`."""
        session = boto3.Session(region_name=region)
        actual = session.client("sts").get_caller_identity()["Account"]
        if actual != account:
            raise WrongAccountError(
                f"the credentials are for account {actual}, but the environment is in account "
                f"{account}: use a profile of that account"
            )
        return cls(session)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def cloudformation(self) -> Any:
        return self.client("cloudformation")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    def inventory(self) -> Inventory:
        return read_inventory(self.sagemaker, self.ssm)
