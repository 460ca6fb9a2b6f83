"""Loads model files and the environments file, and reports every problem at once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from animl_contract.artifact import CONFIG_FILE, ArtifactConfigError, validation_problems
from checkout import CONTAINERS_DIR, REGISTRY_DIR
from model_registry.artifact import (
    NotPackageableError,
    artifact_config,
    disagreements,
    read_artifact_config,
)
from model_registry.file_fields import classes_file_labels
from model_registry.model_rules import model_problems
from model_registry.registry_files import Problem, RegistryError, display, read_yaml
from model_registry.schema import (
    EnvironmentsFile,
    EnvironmentSpec,
    ModelSpec,
)
from model_registry.sizes import size_problems, with_sizes
from model_registry.suggestions import did_you_mean, schema_keys

ENVIRONMENTS_FILE = "environments.yaml"
MODELS_FOLDER = "models"
CLASSES_FOLDER = "classes"


class UnknownName(LookupError):  # noqa: N818 - reads as the condition it reports
    """No model or environment of that name in the registry; the message lists the known ones."""


@dataclass(frozen=True)
class Fleet:
    models: dict[str, ModelSpec]
    environments: tuple[EnvironmentSpec, ...]

    def models_of(self, environment: EnvironmentSpec) -> list[ModelSpec]:
        """The environment's models, each with the environment's own sizes applied."""
        names = sorted(self.models) if environment.models == "all" else sorted(environment.models)
        return [with_sizes(self.models[n], environment.sizes.get(n, {})) for n in names]

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            known = ", ".join(sorted(self.models))
            raise UnknownName(
                f"unknown model {name!r}{did_you_mean(name, self.models)}; the registry "
                f"declares: {known}"
            )
        return self.models[name]

    def environment(self, name: str) -> EnvironmentSpec:
        for environment in self.environments:
            if environment.name == name:
                return environment
        known = ", ".join(e.name for e in self.environments)
        names = [e.name for e in self.environments]
        raise UnknownName(
            f"unknown environment {name!r}{did_you_mean(name, names)}; the registry declares: "
            f"{known}"
        )


def _pydantic_problems(
    shown: str, error: ValidationError, schema: type[BaseModel]
) -> list[Problem]:
    found = []
    for field, message in validation_problems(error):
        if message == "unknown key":
            message += did_you_mean(field.rsplit(".", 1)[-1], schema_keys(schema))
        found.append(Problem(shown, field, message))
    return found


def _environment_labels(data: object) -> list[str]:
    """environments.<name> for each entry whose name is its own, else environments.<index>."""
    entries = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    return [
        f"environments.{name}"
        if isinstance(name, str) and name and names.count(name) == 1
        else f"environments.{i}"
        for i, name in enumerate(names)
    ]


def _name_environments(problems: list[Problem], labels: list[str]) -> list[Problem]:
    named = []
    for p in problems:
        head, _, rest = p.field.partition(".")
        index, _, tail = rest.partition(".")
        if head == "environments" and index.isdigit() and int(index) < len(labels):
            p = Problem(p.file, ".".join(x for x in (labels[int(index)], tail) if x), p.message)
        named.append(p)
    return named


def _point_at_classes_file(
    problems: list[Problem], data: dict[str, Any], folder: Path
) -> list[Problem]:
    """Problems with classes read from classes_file name that file and line, not a list index."""
    path = folder / str(data.get("classes_file"))
    if "classes_file" not in data or not path.is_file():
        return problems
    try:
        lines = [number for number, _ in classes_file_labels(path)]
    except ValueError:
        return problems
    pointed = []
    for p in problems:
        parts = p.field.split(".")
        if parts[0] == "classes" and len(parts) > 1 and parts[1].isdigit():
            field = f"classes_file {data['classes_file']} line {lines[int(parts[1])]}"
            p = Problem(p.file, field, p.message)
        pointed.append(p)
    return pointed


def _local_artifact_problems(spec: ModelSpec, shown: str) -> list[Problem]:
    """A local artifact must carry the config the registry prescribes (s3:// ones are checked by
    `mlmodel export --check`, which reads the file)."""
    if not spec.artifact_is_local:
        return []
    archive = Path(spec.artifact)
    where = f"artifact ({display(archive)}:{CONFIG_FILE})"
    try:
        actual = read_artifact_config(archive)
        expected = artifact_config(spec)
    except (ArtifactConfigError, NotPackageableError) as error:
        return [Problem(shown, where, str(error).replace("\n", "; "))]
    return [
        Problem(
            shown, f"{where} {field}", f"{difference}: the artifact disagrees with the registry"
        )
        for field, difference in disagreements(expected, actual)
    ]


def _load_models(
    models_dir: Path, containers_dir: Path, problems: list[Problem]
) -> dict[str, ModelSpec]:
    files = sorted([*models_dir.glob("*.yaml"), *models_dir.glob("*.yml")])
    if not files:
        problems.append(Problem(display(models_dir), "", "no model files (*.yaml) found"))
    models: dict[str, ModelSpec] = {}
    origin: dict[str, str] = {}
    for path in files:
        shown = display(path)
        data = read_yaml(path, problems)
        if data is None:
            continue
        context = {"file_dir": path.parent, "containers_dir": containers_dir}
        try:
            spec = ModelSpec.model_validate(data, context=context)
        except ValidationError as exc:
            problems.extend(
                _point_at_classes_file(_pydantic_problems(shown, exc, ModelSpec), data, path.parent)
            )
            continue
        problems.extend(
            _point_at_classes_file(
                [Problem(shown, f, m) for f, m in model_problems(spec)], data, path.parent
            )
        )
        if spec.name != path.name.split(".")[0]:
            problems.append(
                Problem(shown, "name", f"{spec.name!r} must match the file name {path.name!r}")
            )
        problems.extend(_local_artifact_problems(spec, shown))
        if spec.name in models:
            problems.append(
                Problem(
                    shown, "name", f"duplicate model {spec.name!r}, also in {origin[spec.name]}"
                )
            )
            continue
        models[spec.name] = spec
        origin[spec.name] = shown
    return models


def _load_environments(
    path: Path, models: dict[str, ModelSpec], model_files: set[str], problems: list[Problem]
) -> tuple[EnvironmentSpec, ...]:
    shown = display(path)
    if not path.is_file():
        problems.append(Problem(shown, "", "the environments file does not exist"))
        return ()
    data = read_yaml(path, problems)
    if data is None:
        return ()
    labels = _environment_labels(data)
    try:
        environments = EnvironmentsFile.model_validate(data).environments
    except ValidationError as exc:
        problems.extend(
            _name_environments(_pydantic_problems(shown, exc, EnvironmentsFile), labels)
        )
        return ()

    owners: dict[tuple[str, str, str], str] = {}
    names: dict[str, int] = defaultdict(int)
    quotas: dict[tuple[str, str], tuple[EnvironmentSpec, tuple[int, int, float, int | None]]] = {}
    for i, env in enumerate(environments):
        where = labels[i]
        quota = (
            env.concurrency_quota,
            env.endpoint_quota,
            env.quota_warning_ratio,
            env.quota_warning_acknowledged,
        )
        first, first_quota = quotas.setdefault((env.account, env.region), (env, quota))
        if quota != first_quota:
            problems.append(
                Problem(
                    shown,
                    where,
                    f"shares account {env.account} in {env.region} with environment "
                    f"{first.name!r} but declares other quotas (concurrency_quota, endpoint_quota, "
                    "quota_warning_ratio, quota_warning_acknowledged); one account and region has one set of quotas",
                )
            )
        names[env.name] += 1
        if names[env.name] == 2:
            problems.append(Problem(shown, f"{where}.name", f"duplicate environment {env.name!r}"))
        selected = () if env.models == "all" else env.models
        for j, model in enumerate(selected):
            if model not in model_files:
                problems.append(
                    Problem(
                        shown,
                        f"{where}.models.{j}",
                        f"unknown model {model!r} (no models/{model}.yaml)"
                        + did_you_mean(model, model_files),
                    )
                )
        deployed = set(models) if env.models == "all" else set(selected)
        for model, overrides in env.sizes.items():
            if model not in deployed:
                problems.append(
                    Problem(
                        shown,
                        f"{where}.sizes.{model}",
                        f"environment {env.name} does not run model {model!r}"
                        + did_you_mean(model, deployed),
                    )
                )
            elif model in models:
                problems += [
                    Problem(shown, f"{where}.sizes.{model}.{field}", message)
                    for field, message in size_problems(models[model], overrides)
                ]
        for model in sorted(models) if env.models == "all" else selected:
            spec = models.get(model)
            if spec is not None and spec.image and spec.image_parts["region"] != env.region:
                problems.append(
                    Problem(
                        shown,
                        f"{where}.models",
                        f"{model!r} runs image {spec.image}, in "
                        f"{spec.image_parts['region']}; SageMaker pulls images only from the "
                        f"endpoint's region {env.region}",
                    )
                )
            key = (env.account, env.region, model)
            if key in owners and owners[key] != env.name:
                problems.append(
                    Problem(
                        shown,
                        f"{where}.models",
                        f"{model!r} is already deployed to {env.account}/{env.region} by "
                        f"environment {owners[key]!r}; endpoint names would collide",
                    )
                )
            owners.setdefault(key, env.name)
    return environments


def load_fleet(registry_dir: Path = REGISTRY_DIR, containers_dir: Path = CONTAINERS_DIR) -> Fleet:
    """Validates every model file and the environments file; raises RegistryError listing all problems."""
    problems: list[Problem] = []
    models_dir = registry_dir / MODELS_FOLDER
    models = _load_models(models_dir, containers_dir, problems)
    model_files = {p.name.split(".")[0] for p in models_dir.glob("*.y*ml")}
    environments = _load_environments(
        registry_dir / ENVIRONMENTS_FILE, models, model_files, problems
    )
    if problems:
        raise RegistryError(problems)
    return Fleet(models=models, environments=environments)
