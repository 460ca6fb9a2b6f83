"""An AWS::SageMaker::Endpoint takes the name its EndpointName property gives.

moto 5.2 declares no name property for the resource, so CloudFormation endpoints get generated
names (`<stack>-<logical id>-<suffix>`) while AWS names them as the template says. Everything that
finds an endpoint by its name then misses it: the alarms' EndpointName dimension, the metrics the
local SageMaker publishes, an ops engineer's `describe-endpoint`.
"""

from __future__ import annotations

from moto.sagemaker.models import FakeEndpoint

NAME_PROPERTY = "EndpointName"


def check() -> None:
    assert FakeEndpoint.cloudformation_name_type() == "", (
        "moto's AWS::SageMaker::Endpoint has a name property now"
    )


def apply() -> None:
    FakeEndpoint.cloudformation_name_type = staticmethod(lambda: NAME_PROPERTY)
