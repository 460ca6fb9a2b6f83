"""What the emulator's process reads to run the local SageMaker, and how its parent sets it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from animl_contract import limits

#: Set to a label that marks this emulator's containers (and turns the local SageMaker on).
LABEL_VARIABLE = "ANIML_LOCAL_SAGEMAKER"
WORKDIR_VARIABLE = "ANIML_LOCAL_SAGEMAKER_DIR"
IDLE_VARIABLE = "ANIML_LOCAL_SAGEMAKER_IDLE_SECONDS"
SETUP_VARIABLE = "ANIML_LOCAL_SAGEMAKER_SETUP_SECONDS"
#: The Docker label every container of the local SageMaker carries, with the emulator's label.
CONTAINER_LABEL = "animl-emulator"
#: AWS does not document how long an idle serverless container is kept; this is the emulator's.
DEFAULT_IDLE_SECONDS = 300.0


@dataclass(frozen=True)
class LocalSageMakerSettings:
    label: str
    workdir: Path
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    #: Model download plus the first good /ping, as serverless allows.
    setup_seconds: float = float(limits.FIRST_PING_SECONDS)

    def environment(self) -> dict[str, str]:
        return {
            LABEL_VARIABLE: self.label,
            WORKDIR_VARIABLE: str(self.workdir),
            IDLE_VARIABLE: str(self.idle_seconds),
            SETUP_VARIABLE: str(self.setup_seconds),
        }


def from_environment(env: Mapping[str, str] = os.environ) -> LocalSageMakerSettings | None:
    label = env.get(LABEL_VARIABLE)
    if not label:
        return None
    return LocalSageMakerSettings(
        label=label,
        workdir=Path(env[WORKDIR_VARIABLE]),
        idle_seconds=float(env.get(IDLE_VARIABLE, DEFAULT_IDLE_SECONDS)),
        setup_seconds=float(env.get(SETUP_VARIABLE, limits.FIRST_PING_SECONDS)),
    )
