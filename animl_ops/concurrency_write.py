"""`quota plan --write`: the recommended max concurrency into the registry files, each value
changed in place (comments and layout kept), every file or none, and only where the registry
then still loads and no region is over its quota."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from animl_ops.quota import planned_usage
from model_registry.loader import ENVIRONMENTS_FILE, MODELS_FOLDER, load_fleet
from model_registry.registry_files import RegistryError
from model_registry.schema import EnvironmentSpec

#: A mapping key, or a list item picked by its `name:`.
Step = str | tuple[str, str]


class WriteRefused(RuntimeError):  # noqa: N818 - reads as the condition it reports
    """Nothing was written; the message says why."""


@dataclass(frozen=True)
class Change:
    model: str
    kind: str
    max_concurrency: int


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _locate(lines: list[str], path: list[Step]) -> int:
    """The index of the line holding the last key of `path`, in block style."""
    start, end, parent = 0, len(lines), -1
    found = -1
    for step in path:
        if isinstance(step, tuple):
            key, value = step
            pattern = re.compile(
                rf"^(\s*)- {re.escape(key)}:\s*['\"]?{re.escape(value)}['\"]?\s*(#.*)?$"
            )
        else:
            pattern = re.compile(rf"^(\s*)(- )?{re.escape(step)}:(\s|$)")
        found = next(
            (i for i in range(start, end)
             if _indent(lines[i]) > parent and pattern.match(lines[i])),
            -1,
        )  # fmt: skip
        if found < 0:
            raise LookupError(step)
        parent = _indent(lines[found]) + (1 if isinstance(step, tuple) else 0)
        start = found + (0 if isinstance(step, tuple) else 1)
        end = next(
            (i for i in range(found + 1, len(lines))
             if _is_content(lines[i]) and _indent(lines[i]) <= _indent(lines[found])),
            len(lines),
        )  # fmt: skip
    return found


def _set(text: str, path: list[Step], value: int, file: Path) -> str:
    lines = text.split("\n")
    field = ".".join(s if isinstance(s, str) else s[1] for s in path)
    try:
        index = _locate(lines, path)
    except LookupError as error:
        raise WriteRefused(
            f"{file}: {field}: not found in block style ({error.args[0]}); change it by hand"
        ) from error
    line, count = re.subn(r"^(\s*(- )?\w+:\s*)\d+", rf"\g<1>{value}", lines[index])
    if count != 1:
        raise WriteRefused(f"{file}: {field}: not a number on one line; change it by hand")
    lines[index] = line
    return "\n".join(lines)


def _target(environment: EnvironmentSpec, change: Change) -> tuple[str, list[Step]]:
    """The environment's own size where it sets one, else the model file's."""
    override = environment.sizes.get(change.model, {}).get(change.kind)  # type: ignore[call-overload]
    if override is not None and override.max_concurrency is not None:
        path: list[Step] = ["environments", ("name", environment.name), "sizes", change.model,
                            change.kind, "max_concurrency"]  # fmt: skip
        return ENVIRONMENTS_FILE, path
    return f"{MODELS_FOLDER}/{change.model}.yaml", ["endpoints", change.kind, "max_concurrency"]


def write_changes(registry: Path, environment: EnvironmentSpec, changes: list[Change]) -> list[str]:
    """Applies every change or none; returns the files changed, relative to the registry."""
    texts: dict[str, str] = {}
    for change in changes:
        name, path = _target(environment, change)
        text = texts.get(name) or (registry / name).read_text(encoding="utf-8")
        texts[name] = _set(text, path, change.max_concurrency, registry / name)
    with tempfile.TemporaryDirectory(prefix="animl-plan-write-") as scratch:
        trial = Path(scratch) / "registry"
        shutil.copytree(registry, trial)
        for name, text in texts.items():
            (trial / name).write_text(text, encoding="utf-8")
        try:
            fleet = load_fleet(trial)
        except RegistryError as error:
            raise WriteRefused(f"the registry would not load; nothing written:\n{error}") from error
        over = [u for u in planned_usage(fleet) if u.over_quota]
        if over:
            where = ", ".join(f"{u.account}/{u.region} {u.concurrency} of {u.quota}" for u in over)
            raise WriteRefused(f"the changes would exceed a quota ({where}); nothing written")
        sized: dict[tuple[str, str], int] = {
            (m.name, kind): spec.max_concurrency
            for m in fleet.models_of(fleet.environment(environment.name))
            for kind, spec in m.endpoints.items()
        }
        missed = [c for c in changes if sized.get((c.model, c.kind)) != c.max_concurrency]
        if missed:
            raise WriteRefused(f"could not place {missed} in the registry; nothing written")
    staged = []
    for name, text in texts.items():
        partial = registry / f"{name}.partial"
        partial.write_text(text, encoding="utf-8")
        staged.append((partial, registry / name))
    for partial, final in staged:
        os.replace(partial, final)
    return sorted(texts)
