"""Invoke one endpoint, found through its stage's SSM parameter, as the Animl API calls it, and
read the answer as the API does."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from animl_ops import animl_api
from animl_ops.local_runtime import invoke
from animl_ops.mlmodel import SAMPLE_BOX, IncompleteRecord, api_labels, sample_call
from animl_ops.response_format import BadResponse, check_format
from model_registry.naming import parameter_name
from model_registry.schema import EndpointKind, ModelSpec, RecordSpec


@dataclass(frozen=True)
class SmokeResult:
    target: str
    status: str
    latency_ms: float
    labels: tuple[str, ...]
    problem: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict:
        return asdict(self) | {"ok": self.ok}


class SmokeError(RuntimeError):
    """The endpoint could not be reached; what to do is in the message."""


@dataclass(frozen=True)
class _Request:
    record: RecordSpec
    call: animl_api.Call


def _request(model: ModelSpec, kind: EndpointKind) -> _Request:
    """The call the API makes for the model's first record it routes on this kind of endpoint."""
    for record in model.records:
        route = animl_api.interface(record.id)
        if route is not None and (kind == "batch" or route.realtime):
            return _Request(record, sample_call(model, record, kind == "batch"))
    raise SmokeError(f"the Animl API never calls the {kind} endpoint of {model.name}")


def _judge(
    model: ModelSpec, request: _Request, target: str, status: str, latency: float, body: bytes
) -> SmokeResult:
    try:
        answer = check_format(model.family, body)
    except BadResponse as error:
        return SmokeResult(target, status, latency, (), f"bad response: {error}")
    bbox = SAMPLE_BOX if request.record.expects_crops else None
    try:
        labels = api_labels(model, request.record, answer, bbox)
    except IncompleteRecord as error:
        return SmokeResult(target, status, latency, (), note=f"labels not checked: {error}")
    except animl_api.ApiThrowsError as error:
        return SmokeResult(target, status, latency, (), f"the Animl API would fail: {error}")
    return SmokeResult(target, status, latency, labels)


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
    return smoke_named(runtime, model, kind, endpoint, status)


def smoke_named(
    runtime, model: ModelSpec, kind: EndpointKind, endpoint: str, status: str = "InService"
) -> SmokeResult:
    """Invokes `endpoint` as the API calls the model's `kind` endpoint, and judges the answer."""
    request = _request(model, kind)
    extra = {"ContentType": request.call.content_type} if request.call.content_type else {}
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, Body=request.call.body, **extra)
    except (
        runtime.exceptions.ModelError
    ) as error:  # the container answered an error: a failed check
        latency = round((time.perf_counter() - started) * 1000, 1)
        return SmokeResult(endpoint, status, latency, (), f"the model failed: {error}")
    body = response["Body"].read()
    latency = round((time.perf_counter() - started) * 1000, 1)
    return _judge(model, request, endpoint, status, latency, body)


def smoke_url(url: str, model: ModelSpec, kind: EndpointKind) -> SmokeResult:
    """The same check against a container running locally (POST URL/invocations)."""
    request = _request(model, kind)
    started = time.perf_counter()
    try:
        status, body = invoke(url, request.call.body, request.call.content_type)
    except OSError as error:
        raise SmokeError(f"cannot reach {url}: {error}; is the container running?") from error
    latency = round((time.perf_counter() - started) * 1000, 1)
    if status != 200:
        return SmokeResult(url, str(status), latency, (), f"HTTP {status}: {body[:200]!r}")
    return _judge(model, request, url, "200", latency, body)
