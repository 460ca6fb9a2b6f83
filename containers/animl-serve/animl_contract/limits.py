"""SageMaker Serverless Inference limits and quota codes, shared by the registry, the CDK app and
the ops CLI. Source: the SageMaker Serverless Inference documentation (see the README)."""

MEMORY_MB_MIN = 1024
MEMORY_MB_MAX = 6144
MEMORY_MB_STEP = 1024

MAX_CONCURRENCY_MIN = 1
MAX_CONCURRENCY_MAX = 200

ENDPOINTS_PER_REGION = 50

#: Service Quotas code of the total serverless concurrency per account and region.
CONCURRENCY_QUOTA_CODE = "L-96300102"
CONCURRENCY_QUOTA_SERVICE = "sagemaker"
_CONCURRENCY_1000_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "eu-central-1",
        "eu-west-1",
    }
)

ENVIRONMENT_VARIABLES_MAX = 100
ENVIRONMENT_VALUE_MAX_CHARS = 1024

#: The one production variant of every endpoint: the VariantName dimension of its metrics.
VARIANT_NAME = "AllTraffic"

#: SageMaker endpoint names: at most 63 characters.
ENDPOINT_NAME_MAX_CHARS = 63

#: Request and response payloads of InvokeEndpoint.
PAYLOAD_MAX_BYTES = 4 * 1024 * 1024

#: An invocation fails after 60 s; a new container must answer its first ping within 3 minutes.
INVOCATION_TIMEOUT_SECONDS = 60
FIRST_PING_SECONDS = 180


def default_concurrency_quota(region: str) -> int:
    """The default serverless concurrency quota of a region; new accounts may have less."""
    return 1000 if region in _CONCURRENCY_1000_REGIONS else 500
