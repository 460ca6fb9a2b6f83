"""Invoke one deployed endpoint, found through its stage's SSM parameter, with a sample request."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from animl_ops.contract import BadResponse, response_labels, sample_request
from animl_ops.local_runtime import invoke
from model_registry.naming import parameter_name
from model_registry.schema import EndpointKind, ModelSpec


@dataclass(frozen=True)
class SmokeResult:
    target: str
    status: str
    latency_ms: float
    labels: tuple[str, ...]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict:
        return asdict(self) | {"ok": self.ok}


class SmokeError(RuntimeError):
    """The endpoint could not be reached; what to do is in the message."""


def _judge(model: ModelSpec, target: str, status: str, latency: float, body: bytes) -> SmokeResult:
    try:
        labels = response_labels(model, body)
    except BadResponse as error:
        return SmokeResult(target, status, latency, (), f"bad response: {error}")
    known = {c.id for c in model.classes}
    unknown = sorted(labels - known)
    problem = f"labels not in the registry's classes: {unknown}" if unknown else None
    return SmokeResult(target, status, latency, tuple(sorted(labels)), problem)


def smoke_endpoint(ssm, sagemaker, runtime, model: ModelSpec, kind: EndpointKind, stage: str):
    parameter = parameter_name(model.name, kind, stage)
    try:
        endpoint = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound as error:
        raise SmokeError(
            f"SSM parameter {parameter} does not exist in this account and region: "
            "deploy the environment first, or check --stage and the credentials' account"
        ) from error
    try:
        status = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    except sagemaker.exceptions.ClientError as error:
        # SageMaker answers a missing endpoint with ValidationException; throttling etc. go up.
        if error.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        raise SmokeError(
            f"{parameter} names endpoint {endpoint}, which does not exist: redeploy the stack"
        ) from error
    if status != "InService":
        raise SmokeError(
            f"endpoint {endpoint} is {status}, not InService: wait or check its events"
        )
    request = sample_request(model)
    started = time.perf_counter()
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=request.body, ContentType=request.content_type
    )
    body = response["Body"].read()
    latency = round((time.perf_counter() - started) * 1000, 1)
    return _judge(model, endpoint, status, latency, body)


def smoke_url(url: str, model: ModelSpec) -> SmokeResult:
    """The same check against a container running locally (POST URL/invocations)."""
    request = sample_request(model)
    started = time.perf_counter()
    try:
        status, body = invoke(url, request.body, request.content_type)
    except OSError as error:
        raise SmokeError(f"cannot reach {url}: {error}; is the container running?") from error
    latency = round((time.perf_counter() - started) * 1000, 1)
    if status != 200:
        return SmokeResult(url, str(status), latency, (), f"HTTP {status}: {body[:200]!r}")
    return _judge(model, url, "200", latency, body)
