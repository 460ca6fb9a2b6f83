"""'Did you mean' for a mistyped key or name: the closest known one, if any is close."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import get_args

from pydantic import BaseModel


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'stages'?)', or '' when nothing known is close."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def schema_keys(model: type[BaseModel]) -> frozenset[str]:
    """Every field name of the model and of the models its fields hold, at any depth."""
    keys: set[str] = set()
    pending: list[object] = [model]
    seen: set[object] = set()
    while pending:
        annotation = pending.pop()
        if annotation in seen:
            continue
        seen.add(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, field in annotation.model_fields.items():
                keys.add(field.alias or name)
                pending.append(field.annotation)
        else:
            pending.extend(get_args(annotation))
    return frozenset(keys)
