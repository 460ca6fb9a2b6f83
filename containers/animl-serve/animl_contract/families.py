"""The model families: how an endpoint is called and what it answers (see the containers README)."""

from typing import Literal

Family = Literal["detector", "crop-classifier", "speciesnet"]
