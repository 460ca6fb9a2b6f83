"""The local SageMaker: InvokeEndpoint on the container of the endpoint's model."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass

from moto.sagemaker.models import sagemaker_backends

from animl_contract import limits
from animl_emulator.local_sagemaker import answers, metrics
from animl_emulator.local_sagemaker.answers import Answer
from animl_emulator.local_sagemaker.artifacts import ArtifactError, extract, read_object
from animl_emulator.local_sagemaker.containers import ContainerFailed, EndpointContainer
from animl_emulator.local_sagemaker.settings import CONTAINER_LABEL, LocalSageMakerSettings

log = logging.getLogger("animl.local_sagemaker")
#: The reason SageMaker gives an endpoint whose container never passes its health check.
PING_FAILURE = (
    "The primary container for production variant {variant} did not pass the ping health check: "
)


@dataclass(frozen=True)
class _Variant:
    """What one invocation needs of endpoint, config and model."""

    name: str
    model_name: str
    image: str
    model_data_url: str
    environment: dict[str, str]
    memory_mb: int
    max_concurrency: int


class _Running:
    """One endpoint's container (None while cold) and the calls in flight on it."""

    def __init__(self) -> None:
        self.start_lock = threading.Lock()
        self.container: EndpointContainer | None = None
        self.model_name = ""
        self.in_flight = 0
        self.last_used = time.monotonic()


class LocalSageMaker:
    def __init__(self, settings: LocalSageMakerSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str, str], _Running] = {}
        self._folders = itertools.count(1)
        threading.Thread(target=self._stop_idle, name="scale-to-zero", daemon=True).start()

    def invoke(
        self, account: str, region: str, endpoint_name: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        """headers: what SageMaker passes on to the container (Content-Type, Accept)."""
        backend = sagemaker_backends[account][region]
        endpoint = backend.endpoints.get(endpoint_name)
        if endpoint is None:
            return answers.endpoint_not_found(endpoint_name, account)
        if len(body) > limits.PAYLOAD_MAX_BYTES:
            return answers.validation_error(
                f"Request payload of {len(body)} bytes exceeds the maximum of "
                f"{limits.PAYLOAD_MAX_BYTES} bytes"
            )
        if endpoint.endpoint_status != "InService":
            return answers.validation_error(
                f"Endpoint {endpoint_name} is {endpoint.endpoint_status}, not InService: "
                f"{endpoint.failure_reason or ''}".rstrip(": ")
            )
        variant = _variant(backend, endpoint)
        if variant is None:
            return answers.validation_error(
                f"Endpoint {endpoint_name} has no serverless variant; the local SageMaker runs "
                "serverless variants only"
            )
        key = (account, region, endpoint_name)
        with self._lock:
            running = self._running.setdefault(key, _Running())
            if running.in_flight >= variant.max_concurrency:
                metrics.publish(account, region, _refused(endpoint_name, variant, running))
                return answers.throttled(endpoint_name, variant.max_concurrency)
            running.in_flight += 1
            in_flight = running.in_flight
        try:
            return self._call(account, region, endpoint, variant, running, in_flight, body, headers)
        finally:
            with self._lock:
                running.in_flight -= 1
                running.last_used = time.monotonic()

    def _call(self, account, region, endpoint, variant, running, in_flight, body, headers):
        started = time.monotonic()
        try:
            container, setup_seconds = self._warm(account, endpoint.endpoint_name, variant, running)
        except (ArtifactError, ContainerFailed) as error:
            reason = PING_FAILURE.format(variant=variant.name) + str(error)
            log.error("endpoint %s: %s", endpoint.endpoint_name, reason)
            endpoint.endpoint_status, endpoint.failure_reason = "Failed", reason
            return answers.validation_error(f"Endpoint {endpoint.endpoint_name} failed: {reason}")
        model_started = time.monotonic()
        try:
            reply = container.invoke(body, headers)
        except OSError as error:
            log.error(
                "endpoint %s: the container did not answer: %s", endpoint.endpoint_name, error
            )
            reply = None
        model_seconds = time.monotonic() - model_started
        status = reply.status if reply else 500
        metrics.publish(
            account,
            region,
            metrics.Invocation(
                endpoint=endpoint.endpoint_name,
                variant=variant.name,
                model_status=status,
                model_seconds=model_seconds,
                overhead_seconds=time.monotonic() - started - model_seconds,
                setup_seconds=setup_seconds,
                in_flight=in_flight,
                max_concurrency=variant.max_concurrency,
            ),
        )
        if reply is None or status >= 400:
            log_group = (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/"
                f"{endpoint.endpoint_name}"
            )
            message = reply.body if reply else b"the model container closed the connection"
            return answers.model_error(status, message, log_group, f"{variant.name}/{container.id}")
        return answers.success(reply.body, reply.content_type, variant.name)

    def _warm(
        self, account: str, endpoint_name: str, variant: _Variant, running: _Running
    ) -> tuple[EndpointContainer, float | None]:
        """The endpoint's container, started first if it is cold or serves another model (the
        endpoint was updated to a new config); the setup time when it had to start."""
        with running.start_lock:
            current = running.container
            # A container that died (killed at its memory limit, say) is replaced, as SageMaker does.
            if (
                current is not None
                and running.model_name == variant.model_name
                and current.running()
            ):
                return current, None
            if running.container is not None:
                running.container.stop()
                running.container = None
            started = time.monotonic()
            folder = self.settings.workdir / f"{endpoint_name}-{next(self._folders)}" / "model"
            extract(read_object(account, variant.model_data_url), variant.model_data_url, folder)
            log.info("endpoint %s: cold start of %s", endpoint_name, variant.image)
            running.container = EndpointContainer.start(
                variant.image,
                folder,
                variant.memory_mb,
                variant.environment,
                {CONTAINER_LABEL: self.settings.label, "animl-endpoint": endpoint_name},
                self.settings.setup_seconds,
            )
            running.model_name = variant.model_name
            return running.container, time.monotonic() - started

    def _stop_idle(self) -> None:
        while True:
            time.sleep(min(5.0, self.settings.idle_seconds / 2))
            now = time.monotonic()
            with self._lock:
                idle = [
                    r
                    for r in self._running.values()
                    if r.container is not None
                    and r.in_flight == 0
                    and now - r.last_used > self.settings.idle_seconds
                ]
            for running in idle:
                with running.start_lock:
                    if running.container is not None and running.in_flight == 0:
                        log.info("container %s idle: stopped", running.container.id)
                        running.container.stop()
                        running.container = None

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for r in running:
            if r.container is not None:
                r.container.stop()


def _variant(backend, endpoint) -> _Variant | None:
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    variant = config.production_variants[0]
    serverless = variant.get("ServerlessConfig")
    if not serverless:
        return None
    model = backend._models[variant["ModelName"]]
    container = model.primary_container or model.containers[0]
    return _Variant(
        name=variant["VariantName"],
        model_name=model.model_name,
        image=container["Image"],
        model_data_url=container["ModelDataUrl"],
        environment=dict(container.get("Environment") or {}),
        memory_mb=int(serverless["MemorySizeInMB"]),
        max_concurrency=int(serverless["MaxConcurrency"]),
    )


def _refused(endpoint_name: str, variant: _Variant, running: _Running) -> metrics.Invocation:
    return metrics.Invocation(
        endpoint=endpoint_name,
        variant=variant.name,
        model_status=None,
        model_seconds=0.0,
        overhead_seconds=0.0,
        setup_seconds=None,
        in_flight=running.in_flight,
        max_concurrency=variant.max_concurrency,
    )
