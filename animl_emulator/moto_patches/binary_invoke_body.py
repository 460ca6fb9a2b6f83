"""InvokeEndpoint bodies kept as bytes.

moto 5.2 decodes an InvokeEndpoint body as UTF-8 and answers a JPEG, what the Animl API sends
MegaDetector, with a 500.
"""

from __future__ import annotations

import base64
import json

from moto.sagemakerruntime.responses import SageMakerRuntimeResponse


def invoke_endpoint(self: SageMakerRuntimeResponse) -> tuple[int, dict[str, str], str]:
    body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
    unique = {k: v for k, v in self.headers.items() if k.lower().startswith("x-amzn-sagemaker")}
    unique |= {"Accept": self.headers.get("Accept"), "Body": base64.b64encode(body).decode()}
    answer, content_type, variant, attributes = self.sagemakerruntime_backend.invoke_endpoint(
        endpoint_name=self.path.split("/")[2],
        unique_repr=base64.b64encode(json.dumps(unique).encode()),
    )
    headers = {"Content-Type": content_type}
    if variant:
        headers["x-Amzn-Invoked-Production-Variant"] = variant
    if attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
    return 200, headers, answer


def check() -> None:
    assert hasattr(SageMakerRuntimeResponse, "invoke_endpoint"), (
        "moto has no SageMakerRuntimeResponse.invoke_endpoint"
    )


def apply() -> None:
    SageMakerRuntimeResponse.use_raw_body = True
    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint
