"""Writes a registry of generated models, for the scale test and the synth benchmark."""

from __future__ import annotations

from pathlib import Path

import yaml

from model_registry.loader import ENVIRONMENTS_FILE, MODELS_FOLDER


def synthetic_model_names(count: int, prefix: str = "model") -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(count)]


def write_synthetic_registry(
    root: Path,
    model_names: list[str],
    *,
    stack_shards: int,
    max_concurrency: int = 5,
    container: str = "animl-serve",
) -> Path:
    """One crop classifier with a batch and a realtime endpoint per name, in one environment
    whose quotas are raised to fit them all."""
    models = root / MODELS_FOLDER
    models.mkdir(parents=True, exist_ok=True)
    for name in model_names:
        spec = {
            "name": name,
            "version": "1.0",
            "description": f"Generated classifier {name}",
            "family": "crop-classifier",
            "architecture": "resnet50",
            "container": container,
            "artifact": f"s3://animl-model-zoo-{{region}}/{name}/model.tar.gz",
            "classes": ["animal", "blank"],
            "preprocessing": {"classifier": {"input_size": 224, "normalization": "imagenet"}},
            "records": [
                {
                    "id": name,
                    "version": "v1.0",
                    "default_confidence_threshold": 0.5,
                    "expects_crops": True,
                }
            ],
            "endpoints": {
                kind: {"memory_mb": 2048, "max_concurrency": max_concurrency}
                for kind in ("batch", "realtime")
            },
        }
        (models / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    endpoints = 2 * len(model_names)
    environment = {
        "name": "scale",
        "account": "123456789012",
        "region": "us-east-1",
        "stages": ["dev", "prod"],
        "models": "all",
        "concurrency_quota": max(1, endpoints * max_concurrency),
        "endpoint_quota": max(1, endpoints),
        "stack_shards": stack_shards,
    }
    (root / ENVIRONMENTS_FILE).write_text(yaml.safe_dump({"environments": [environment]}))
    return root
