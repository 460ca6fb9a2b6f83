"""A model's ModelDataUrl, read from the emulator's S3 and extracted as SageMaker does."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from moto.s3.models import s3_backends


class ArtifactError(RuntimeError):
    """The artifact could not be downloaded or extracted; the message is SageMaker's reason."""


def read_object(account: str, url: str) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    backend = s3_backends[account]["aws"]
    try:
        found = backend.get_object(bucket, key)
    except Exception as error:  # moto raises its own MissingBucket and the like
        raise ArtifactError(f"Could not download model data from {url}: {error}") from error
    if found is None:
        raise ArtifactError(f"Could not download model data from {url}: no such key")
    return found.value


def extract(data: bytes, url: str, folder: Path) -> Path:
    """Into `folder`, readable by the container's non-root user (SageMaker mounts it read-only)."""
    folder.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArtifactError(f"Could not extract model data from {url}: {error}") from error
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder
