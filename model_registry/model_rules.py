"""The rules of a model file across its fields, checked once each field is valid on its own."""

from __future__ import annotations

from collections import Counter

from animl_contract.artifact import label_problems, preprocessing_problems
from model_registry.schema import ModelSpec


def model_problems(model: ModelSpec) -> list[tuple[str, str]]:
    """(field, message) for what is missing or inconsistent across fields."""
    problems = []
    if (model.container is None) == (model.image is None):
        problems.append(("container", "give either container (a folder) or image (ECR)"))
    if not model.classes and "classes" not in model.unverified:
        problems.append(("classes", "give at least one class, or mark classes unverified"))
    for attr in ("id", "name"):
        # The API matches a project's labels to categories by lower-cased name (Image.ts).
        counts = Counter(
            getattr(c, attr).lower() if attr == "name" else getattr(c, attr) for c in model.classes
        )
        dupes = sorted(value for value, n in counts.items() if n > 1)
        if dupes:
            problems.append(("classes", f"duplicate {attr}s {dupes}"))
    if model.preprocessing is None and "preprocessing" not in model.unverified:
        problems.append(("preprocessing", "required unless marked unverified"))
    problems += [("classes", p) for p in label_problems(model.family, tuple(model.class_ids))]
    if model.preprocessing is not None:
        problems += [
            ("preprocessing", p) for p in preprocessing_problems(model.family, model.preprocessing)
        ]
    for i, record in enumerate(model.records):
        for attr in ("version", "default_confidence_threshold"):
            if getattr(record, attr) is None and attr not in model.unverified:
                problems.append((f"records.{i}.{attr}", "required unless marked unverified"))
    if model.taxonomy is not None:
        if model.family != "speciesnet":
            problems.append(("taxonomy_file", "only a speciesnet model has a taxonomy"))
        problems += [("taxonomy_file", p) for p in label_problems("speciesnet", model.taxonomy)]
    for i, record in enumerate(model.records):
        if record.includes_taxonomy and model.family != "speciesnet":
            problems.append(
                (f"records.{i}.includes_taxonomy", "only a speciesnet record has a taxonomy")
            )
    ids = Counter(r.id for r in model.records)
    if dupes := sorted(i for i, n in ids.items() if n > 1):
        problems.append(("records", f"duplicate ids {dupes}"))
    return problems
