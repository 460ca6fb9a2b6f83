"""SageMaker UpdateEndpoint, which moto 5.2 lacks.

The take-over lowers a hand-made endpoint's concurrency with it. The handler switches the endpoint
to the new config at once, where SageMaker shows Updating for minutes while it still serves, and
sets LastModifiedTime, as SageMaker does (`quota plan` reads it as the time the size changed).
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse


def update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{name}'.")
    config = backend.describe_endpoint_config(config_name)
    endpoint.endpoint_config_name = config_name
    endpoint.last_modified_time = utcnow()
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def check() -> None:
    assert not hasattr(SageMakerResponse, "update_endpoint"), "moto has UpdateEndpoint now"


def apply() -> None:
    SageMakerResponse.update_endpoint = update_endpoint
