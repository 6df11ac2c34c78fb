"""Which failures are worth retrying: throttling, 5xx, timeouts and broken connections.

One classifier for the read seam, the renderer's storage and the runner's step retries.
botocore's exceptions are recognised by their classes' module and names, not imported: the
procedures run in Snowflake, where botocore is not a declared package (it arrives there only as
a dependency of snowflake-connector-python, at whatever version that allows); the local runner
and the renderer, which raise botocore errors, have it.
"""

from __future__ import annotations

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

BOTOCORE_EXCEPTIONS = "botocore.exceptions"
# botocore.exceptions classes for a refused or broken connection, a timeout, or a body cut short
# while streaming (their subclasses, e.g. EndpointConnectionError and ReadTimeoutError, too).
BOTOCORE_NETWORK_ERRORS = frozenset({"ConnectionError", "HTTPClientError", "IncompleteReadError"})
# botocore.exceptions.ClientError: the service answered with an error document (`.response`).
BOTOCORE_CLIENT_ERROR = "ClientError"


def _botocore_classes(error: BaseException) -> frozenset[str]:
    """The names of the botocore.exceptions classes `error` is an instance of: what
    isinstance() against them would match, without importing botocore."""
    return frozenset(
        cls.__name__ for cls in type(error).__mro__ if cls.__module__ == BOTOCORE_EXCEPTIONS
    )


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same request later may succeed."""
    botocore_classes = _botocore_classes(error)
    if BOTOCORE_CLIENT_ERROR in botocore_classes:
        response = getattr(error, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in S3_TRANSIENT_CODES or status == 429 or status >= 500
    if type(error).__module__.startswith("snowflake.connector"):
        return getattr(error, "errno", None) in SNOWFLAKE_NETWORK_ERRNOS
    # connection refused or reset, timeouts, a body cut short while streaming
    return bool(botocore_classes & BOTOCORE_NETWORK_ERRORS) or isinstance(
        error, ConnectionError | TimeoutError
    )
