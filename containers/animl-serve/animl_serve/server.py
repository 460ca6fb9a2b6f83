"""The SageMaker container contract: GET /ping and POST /invocations.

The event loop only moves bytes. Decoding, pre-processing and inference run in a separate
executor, so /ping answers at once while a request is being computed. The model loads in a
background thread after the server starts, so connections are accepted straight away and /ping
says 503 until the model is ready.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from animl_serve.backend import SessionOptions
from animl_serve.errors import ArtifactError, ClientError
from animl_serve.handlers import Handler, Limits, load_handler
from animl_serve.settings import Settings

log = logging.getLogger("animl_serve")
LOAD_FAILURE_EXIT_CODE = 3


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def error_response(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


class ModelState:
    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.loaded = threading.Event()


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ClientError(f"the body is {declared} bytes; the limit is {limit}", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ClientError(f"the body exceeds the limit of {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings, exit_on_load_failure: bool = True) -> Starlette:
    state = ModelState()
    executor = ThreadPoolExecutor(settings.inference_workers, thread_name_prefix="inference")
    options = SessionOptions(settings.intra_op_threads, settings.graph_optimization)
    limits = Limits(max_image_pixels=settings.max_image_pixels)

    def load() -> None:
        started = time.perf_counter()
        try:
            state.handler = load_handler(settings.model_dir, options, limits)
        except Exception as exc:  # any failure to load: the endpoint must not idle at 503
            if isinstance(exc, ArtifactError | OSError | ClientError):
                log.critical("cannot serve the model in %s: %s", settings.model_dir, exc)
            else:
                log.critical("cannot serve the model in %s", settings.model_dir, exc_info=exc)
            if exit_on_load_failure:
                logging.shutdown()
                os._exit(LOAD_FAILURE_EXIT_CODE)
            return
        config = state.handler.config
        log.info(
            "loaded %s %s (%s) from %s in %.2fs with %d intra-op threads",
            config.name, config.version, config.family, settings.model_dir,
            time.perf_counter() - started, settings.intra_op_threads,
        )  # fmt: skip
        state.loaded.set()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=load, name="model-loader", daemon=True).start()
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    async def ping(_: Request) -> Response:
        if state.loaded.is_set():
            return json_response({"status": "ok"})
        return error_response("the model is still loading", 503)

    async def invocations(request: Request) -> Response:
        handler = state.handler
        if handler is None or not state.loaded.is_set():
            return error_response("the model is still loading", 503)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not handler.accepts(content_type):
            accepted = ", ".join(sorted(handler.content_types | {"application/octet-stream"}))
            return error_response(
                f"content type {content_type!r} is not accepted; use one of {accepted}", 415
            )
        started = time.perf_counter()
        try:
            body = await _read_body(request, settings.max_body_bytes)
            result = await asyncio.get_running_loop().run_in_executor(
                executor, handler.predict, body
            )
        except ClientError as exc:
            log.info("rejected request: %s", exc)
            return error_response(str(exc), exc.status)
        except ClientDisconnect:
            log.info("the client disconnected before sending the whole body")
            return error_response("the client disconnected", 400)
        except Exception:
            log.exception("inference failed")
            return error_response(
                "internal error while running the model; see the endpoint logs", 500
            )
        log.debug("invocation took %.1f ms", (time.perf_counter() - started) * 1000)
        return json_response(result)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.detail, exc.status_code)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
