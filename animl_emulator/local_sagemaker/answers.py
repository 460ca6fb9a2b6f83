"""InvokeEndpoint's answers as the SageMaker Runtime API gives them (rest-json: the error's code in
the x-amzn-ErrorType header, its fields in the JSON body), in the form moto's handlers return."""

from __future__ import annotations

import json

Answer = tuple[int, dict[str, str], bytes]


def _error(status: int, code: str, fields: dict) -> Answer:
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return status, headers, json.dumps(fields).encode()


def validation_error(message: str) -> Answer:
    return _error(400, "ValidationError", {"Message": message})


def endpoint_not_found(name: str, account: str) -> Answer:
    return validation_error(f"Endpoint {name} of account {account} not found.")


def throttled(name: str, max_concurrency: int) -> Answer:
    # botocore retries ThrottlingException by its code, whatever the HTTP status.
    return _error(
        400,
        "ThrottlingException",
        {"message": f"Endpoint {name} is at its MaxConcurrency of {max_concurrency}"},
    )


def model_error(status: int, body: bytes, log_group_arn: str, log_stream: str) -> Answer:
    """A container's 4xx or 5xx, wrapped as SageMaker wraps it (HTTP 424)."""
    message = body.decode("utf-8", errors="replace")
    side = "client" if status < 500 else "server"
    return _error(
        424,
        "ModelError",
        {
            "Message": f"Received {side} error ({status}) from primary with message "
            f'"{message}". See {log_group_arn} for more information.',
            "OriginalStatusCode": status,
            "OriginalMessage": message,
            "LogStreamArn": f"{log_group_arn}:log-stream:{log_stream}",
        },
    )


def success(body: bytes, content_type: str, variant: str) -> Answer:
    return 200, {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": variant}, body
