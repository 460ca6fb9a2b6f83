"""Errors that become HTTP responses. Anything else is a server fault (500)."""

from __future__ import annotations


class ClientError(Exception):
    """The request is wrong; the message tells the caller what to fix."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ArtifactError(Exception):
    """The model artifact is broken or inconsistent; the message says what and where."""
