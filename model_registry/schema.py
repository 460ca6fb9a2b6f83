"""The pydantic v2 schema of one model file and of the environments file.

Every limit of SageMaker Serverless Inference and every naming rule lives here, so that the
constructs can trust what they receive. The fields that name files are read and resolved by
file_fields, against the model file's folder that the loader passes in the validation context;
the rules across fields are model_rules'. Over 350 lines: each section's field rules stay beside
its fields, as pydantic declares them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from animl_contract import limits
from animl_contract.conversion import Precision
from animl_contract.families import Family
from animl_contract.labels import SpeciesNetLabel, name_problem, scrubbed_name
from animl_contract.preprocessing import Preprocessing
from model_registry import file_fields

EndpointKind = Literal["batch", "realtime"]
ENDPOINT_KINDS: tuple[EndpointKind, ...] = ("batch", "realtime")

# Lowercase words joined by single hyphens: legal in SageMaker names, SSM names and stack names.
_NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ENV_VAR_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# "{region}" in an s3:// artifact stands for the environment's region: SageMaker reads model
# artifacts only from a bucket in the endpoint's own region.
REGION_PLACEHOLDER = "{region}"
_S3_ARTIFACT_PATTERN = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\s]+\.tar\.gz)$"
)
_COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
# An image in Amazon ECR, by tag or digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO(:TAG|@sha256:D)
_KMS_KEY_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/[a-f0-9-]{36}$"
)
_ECR_IMAGE_PATTERN = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)\.amazonaws\.com"
    r"/(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))$"
)
# The longest endpoint suffix is "-realtime"; the endpoint name must stay within 63 characters.
MODEL_NAME_MAX_CHARS = limits.ENDPOINT_NAME_MAX_CHARS - len("-realtime")


def _check_name(value: str, max_chars: int) -> str:
    if not _NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} must be lowercase letters and digits joined by single hyphens")
    if len(value) > max_chars:
        raise ValueError(f"{value!r} is {len(value)} characters; the limit is {max_chars}")
    return value


def _check_kms_key(value: str | None) -> str | None:
    if value is not None and not _KMS_KEY_PATTERN.match(value):
        raise ValueError(
            f"{value!r} must be a KMS key ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (not an alias)"
        )
    return value


def _require_string(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        raise ValueError(f"{value!r} must be a string; quote it in YAML")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassSpec(_Strict):
    """One class the model predicts: `id` is the label the endpoint returns, `name` and `color`
    are the MLModel category's (a missing color is taken from the Animl API's own palette)."""

    id: str = Field(min_length=1)
    name: str
    color: str | None = None
    taxonomy: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_mongodb_key(cls, v: str) -> str:
        if problem := name_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("color")
    @classmethod
    def _hex_color(cls, v: str | None) -> str | None:
        if v is not None and not _COLOR_PATTERN.match(v):
            raise ValueError(f"{v!r} must be a colour as #RRGGBB")
        return v


def class_shorthand(value: Any) -> Any:
    """A bare label: its name is the label scrubbed of `.` and `$`; a SpeciesNet label's is its
    common name, with its lineage as the taxonomy."""
    if not isinstance(value, str):
        return value
    try:
        parsed = SpeciesNetLabel.parse(value)
    except ValueError:
        return {"id": value, "name": scrubbed_name(value)}
    return {"id": value, "name": scrubbed_name(parsed.common_name), "taxonomy": parsed.taxonomy}


class RecordSpec(_Strict):
    """One MLModel record (animl-api src/api/db/schemas/MLModel.ts): the API routes on `id`
    (src/ml/modelInterfaces.ts). empty_category: the API writes label '0' ('empty') for this
    record when nothing passes the thresholds, so the record needs that category."""

    id: str = Field(min_length=1)
    version: Annotated[str, BeforeValidator(_require_string)] | None = Field(
        default=None, min_length=1
    )
    description: str | None = None
    default_confidence_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    expects_crops: bool
    empty_category: bool = False
    #: SpeciesNet 'all': the ensemble may answer any label of the model's taxonomy (a roll-up)
    #: or SpeciesNet's 'no cv result', so the record holds those categories too.
    includes_taxonomy: bool = False


UnverifiedField = Literal[
    "classes", "colors", "version", "default_confidence_threshold", "preprocessing", "taxonomy"
]


class AlarmThresholds(_Strict):
    """When an endpoint's alarms fire. Each is checked over 5-minute periods; an idle endpoint
    publishes no data, which counts as not breaching."""

    #: Sum of Invocation5XXErrors in 5 minutes: answers the runtime failed to give.
    invocation_5xx_errors: int = Field(default=5, ge=1)
    #: Maximum ModelSetupTime: a cold start close to the first-ping limit fails outright.
    model_setup_seconds: float = Field(default=150, gt=0, le=limits.FIRST_PING_SECONDS)
    #: Maximum ModelLatency: an invocation close to the timeout fails outright.
    model_latency_seconds: float = Field(default=45, gt=0, le=limits.INVOCATION_TIMEOUT_SECONDS)
    #: Maximum ServerlessConcurrentExecutionsUtilization: at 1 requests are throttled.
    concurrency_utilization: float = Field(default=0.9, gt=0, le=1)


class EndpointSpec(_Strict):
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None
    environment: dict[str, Annotated[str, BeforeValidator(_require_string)]] = Field(
        default_factory=dict
    )
    alarms: AlarmThresholds = Field(default_factory=AlarmThresholds)

    @field_validator("memory_mb")
    @classmethod
    def _memory_in_steps(cls, v: int) -> int:
        lo, hi, step = limits.MEMORY_MB_MIN, limits.MEMORY_MB_MAX, limits.MEMORY_MB_STEP
        if not (lo <= v <= hi and v % step == 0):
            raise ValueError(f"{v} must be {lo}..{hi} in steps of {step}")
        return v

    @field_validator("max_concurrency")
    @classmethod
    def _concurrency_in_range(cls, v: int) -> int:
        lo, hi = limits.MAX_CONCURRENCY_MIN, limits.MAX_CONCURRENCY_MAX
        if not lo <= v <= hi:
            raise ValueError(f"{v} must be {lo}..{hi}")
        return v

    @field_validator("environment")
    @classmethod
    def _environment_names(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > limits.ENVIRONMENT_VARIABLES_MAX:
            raise ValueError(
                f"{len(v)} variables; SageMaker allows {limits.ENVIRONMENT_VARIABLES_MAX}"
            )
        for key, value in v.items():
            if not _ENV_VAR_PATTERN.match(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            if len(value) > limits.ENVIRONMENT_VALUE_MAX_CHARS:
                raise ValueError(
                    f"{key}: value is {len(value)} characters; "
                    f"the limit is {limits.ENVIRONMENT_VALUE_MAX_CHARS}"
                )
        return v

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> EndpointSpec:
        p = self.provisioned_concurrency
        if p is not None and not 1 <= p <= self.max_concurrency:
            raise ValueError(
                f"provisioned_concurrency: {p} must be 1..max_concurrency ({self.max_concurrency})"
            )
        return self


class EndpointsSpec(_Strict):
    batch: EndpointSpec | None = None
    realtime: EndpointSpec | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> EndpointsSpec:
        if self.batch is None and self.realtime is None:
            raise ValueError("declare at least one endpoint: batch and/or realtime")
        return self

    def items(self) -> list[tuple[EndpointKind, EndpointSpec]]:
        """The declared endpoints in a fixed order."""
        return [(k, spec) for k in ENDPOINT_KINDS if (spec := getattr(self, k)) is not None]


class ModelSpec(_Strict):
    name: str
    version: Annotated[str, BeforeValidator(_require_string)] = Field(min_length=1)
    description: str = Field(min_length=1)
    family: Family
    architecture: str = Field(min_length=1)
    #: The runtime: a folder under containers/ that the deploy builds, or an existing image in
    #: Amazon ECR (bring your own, e.g. the image a hand-made endpoint runs today).
    container: str | None = None
    image: str | None = None
    artifact: str
    #: The KMS key an s3:// artifact is encrypted with (SSE-KMS), in any account: the role may
    #: decrypt with exactly that key.
    artifact_kms_key: str | None = None
    #: Empty only when marked unverified.
    classes: tuple[Annotated[ClassSpec, BeforeValidator(class_shorthand)], ...] = ()
    classes_file: str | None = None
    #: SpeciesNet: its release's taxonomy_release.txt, one label a line.
    taxonomy_file: str | None = None
    taxonomy: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None
    #: What the artifact's graph computes in, and so what both endpoints serve: int8 only from
    #: `python -m animl_convert --int8`, whose report the artifact carries.
    precision: Precision = "fp32"
    records: tuple[RecordSpec, ...] = Field(min_length=1)
    endpoints: EndpointsSpec
    #: What is not public about this model, each with why: the loader then lets the field be
    #: missing, and `mlmodel export` says what an engineer with the model in hand must fill in.
    unverified: dict[UnverifiedField, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, MODEL_NAME_MAX_CHARS)

    @field_validator("artifact_kms_key")
    @classmethod
    def _kms_key_arn(cls, v: str | None) -> str | None:
        return _check_kms_key(v)

    @field_validator("image")
    @classmethod
    def _ecr_image(cls, v: str | None) -> str | None:
        if v is not None and not _ECR_IMAGE_PATTERN.match(v):
            raise ValueError(
                f"{v!r} must be an Amazon ECR image, ACCOUNT.dkr.ecr.REGION.amazonaws.com/"
                "REPOSITORY:TAG or ...@sha256:DIGEST"
            )
        return v

    @property
    def image_parts(self) -> dict[str, str]:
        """account, region and repository of a bring-your-own image."""
        match = _ECR_IMAGE_PATTERN.match(self.image or "")
        if match is None:
            raise ValueError(f"model {self.name} has no ECR image")
        return {k: match[k] for k in ("account", "region", "repository")}

    @field_validator("container")
    @classmethod
    def _container_exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        return file_fields.container_folder(v, info)

    @field_validator("artifact")
    @classmethod
    def _artifact(cls, v: str, info: ValidationInfo) -> str:
        if v.startswith("s3://"):
            if not _S3_ARTIFACT_PATTERN.match(v.replace(REGION_PLACEHOLDER, "us-east-1")):
                raise ValueError(
                    f"{v!r} must be s3://<bucket>/<key>.tar.gz with a valid bucket name"
                )
            return v
        if "://" in v:
            raise ValueError(f"{v!r}: only s3:// URIs or local .tar.gz files are supported")
        if not v.endswith(".tar.gz"):
            raise ValueError(f"{v!r} must be a model.tar.gz archive")
        return file_fields.local_file(v, info, "local artifact ")

    @field_validator("classes_file", "taxonomy_file")
    @classmethod
    def _classes_file_exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else file_fields.local_file(v, info)

    @model_validator(mode="before")
    @classmethod
    def _inline_classes_file(cls, data: Any, info: ValidationInfo) -> Any:
        return file_fields.inline_label_files(data, info)

    @property
    def class_ids(self) -> list[str]:
        return [c.id for c in self.classes]

    def artifact_for(self, region: str) -> str:
        """The artifact location for one region: an s3:// URI or an absolute local path."""
        return self.artifact.replace(REGION_PLACEHOLDER, region)

    @property
    def artifact_is_local(self) -> bool:
        return not self.artifact.startswith("s3://")


class SizeOverride(_Strict):
    """An environment's own size for one endpoint of a model; what it leaves out, the model file
    gives. Checked with the model's endpoint as a whole (model_registry/sizes.py)."""

    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None


class CallerLimits(_Strict):
    """How many InvokeEndpoint calls the environment's callers can have in flight at once, per
    stage, by endpoint kind: an endpoint never needs more max concurrency than that times the
    stages. Not declared: not known, nothing is checked."""

    batch: int | None = Field(default=None, ge=1)
    realtime: int | None = Field(default=None, ge=1)


class EnvironmentSpec(_Strict):
    """A target account and region, the stages that share its endpoints, and its quotas."""

    name: str
    account: Annotated[str, BeforeValidator(_require_string)] = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    stages: tuple[str, ...] = Field(min_length=1)
    models: Literal["all"] | tuple[str, ...]
    #: When not declared: what Service Quotas grants by default in the region.
    concurrency_quota: int = Field(ge=1)
    endpoint_quota: int = Field(default=limits.ENDPOINTS_PER_REGION, ge=1)
    quota_warning_ratio: float = Field(default=0.9, gt=0.0, le=1.0)
    #: A total of max concurrency someone has seen and accepted: synthesis warns only above it.
    quota_warning_acknowledged: int | None = Field(default=None, ge=1)
    stack_shards: int = Field(default=4, ge=1, le=64)
    #: A customer managed KMS key for the endpoints' configs (KmsKeyId: SageMaker encrypts the
    #: image of a serverless endpoint with it); none: SageMaker's own key.
    endpoint_kms_key: str | None = None
    #: Per model and endpoint kind, sizes of this environment's own (the model file keeps the default).
    sizes: dict[str, dict[EndpointKind, SizeOverride]] = Field(default_factory=dict)
    callers: CallerLimits = Field(default_factory=CallerLimits)
    #: Who receives the environment's alarms by e-mail (each confirms the subscription once).
    alarm_emails: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()

    @field_validator("endpoint_kms_key")
    @classmethod
    def _kms_key_arn(cls, v: str | None) -> str | None:
        return _check_kms_key(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_name(v, 40)

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for stage in v:
            _check_name(stage, 20)
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate stages in {list(v)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_concurrency_quota(cls, data: Any) -> Any:
        if isinstance(data, dict) and "concurrency_quota" not in data:
            region = data.get("region")
            if isinstance(region, str):
                return {**data, "concurrency_quota": limits.default_concurrency_quota(region)}
        return data


class EnvironmentsFile(_Strict):
    environments: tuple[EnvironmentSpec, ...] = Field(min_length=1)
