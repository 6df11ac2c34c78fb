"""Which failures are worth retrying: throttling, 5xx, timeouts and broken connections.

One classifier for the read seam, the renderer's storage and the runner's step retries.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

S3_TRANSIENT_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "RequestLimitExceeded",
        "InternalError",
        "ServiceUnavailable",
        "ConditionalRequestConflict",  # a concurrent conditional write; S3 says retry
    }
)
# snowflake.connector's errors for a lost or refused connection (errno 250001-250005: could not
# connect, connection closed, request timeouts); matched by module and errno, not imported,
# so the renderer's workers never load the connector.
SNOWFLAKE_NETWORK_ERRNOS = frozenset({250001, 250002, 250003, 250005, 251005, 251006})


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same request later may succeed."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in S3_TRANSIENT_CODES or status == 429 or status >= 500
    if type(error).__module__.startswith("snowflake.connector"):
        return getattr(error, "errno", None) in SNOWFLAKE_NETWORK_ERRNOS
    # connection refused or reset, timeouts, a body cut short while streaming
    network_errors = (
        BotoConnectionError,
        HTTPClientError,
        IncompleteReadError,
        ConnectionError,
        TimeoutError,
    )
    return isinstance(error, network_errors)
