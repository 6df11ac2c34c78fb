"""is_transient recognises botocore's exceptions without importing botocore.

The procedures run in Snowflake, where botocore is not a declared package; the classifier
matches the botocore.exceptions classes in an error's MRO by name. These tests hold it to the
isinstance() classification it replaced, over every class botocore defines.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import botocore.exceptions
import botocore.session
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from pixelforge_core.transient import S3_TRANSIENT_CODES, SNOWFLAKE_NETWORK_ERRNOS, is_transient


def isinstance_classifier(error: BaseException) -> bool:
    """The classification before the duck typing (isinstance against imported botocore)."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in S3_TRANSIENT_CODES or status == 429 or status >= 500
    if type(error).__module__.startswith("snowflake.connector"):
        return getattr(error, "errno", None) in SNOWFLAKE_NETWORK_ERRNOS
    network = (BotoConnectionError, HTTPClientError, IncompleteReadError)
    return isinstance(error, (*network, ConnectionError, TimeoutError))


def client_error(code: str, status: int, cls: type[ClientError] = ClientError) -> ClientError:
    return cls(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


def every_botocore_exception() -> list[BaseException]:
    """One instance of each exception class in botocore.exceptions (constructors bypassed:
    they format messages from keyword arguments each class names differently)."""
    classes = [
        cls
        for _, cls in inspect.getmembers(botocore.exceptions, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == "botocore.exceptions"
    ]
    instances: list[BaseException] = []
    for cls in classes:
        error = cls.__new__(cls)
        if issubclass(cls, ClientError):
            error.response = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {}}
        instances.append(error)
    return instances


class LookalikeError(Exception):
    """Named like botocore's, defined elsewhere: not a botocore error."""

    def __init__(self) -> None:
        super().__init__("throttled")
        self.response = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {}}


LookalikeError.__name__ = "ClientError"  # what a name-only check would match


class RetriedClientError(ClientError):
    """A subclass defined outside botocore is still a ClientError, as for isinstance()."""


@pytest.fixture(scope="module")
def s3_exceptions():
    """The per-service classes botocore's error factory creates at run time (NoSuchKey...)."""
    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    return client.exceptions


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (client_error("SlowDown", 503), True),
        (client_error("Throttling", 400), True),
        (client_error("ConditionalRequestConflict", 409), True),
        (client_error("Whatever", 429), True),
        (client_error("Whatever", 502), True),
        (client_error("NoSuchKey", 404), False),
        (client_error("AccessDenied", 403), False),
        (client_error("PreconditionFailed", 412), False),
        (client_error("SlowDown", 503, RetriedClientError), True),
        (client_error("AccessDenied", 403, RetriedClientError), False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), True),
        (ResponseStreamingError(error="reset"), True),
        (SSLError(endpoint_url="http://127.0.0.1:1", error="handshake"), True),
        (IncompleteReadError(actual_bytes=1, expected_bytes=2), True),
        (NoCredentialsError(), False),
        (ParamValidationError(report="bad"), False),
        (LookalikeError(), False),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (ValueError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_real_botocore_exceptions(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
    assert isinstance_classifier(error) is transient


def test_error_factory_classes_are_client_errors(s3_exceptions) -> None:
    no_such_key = client_error("NoSuchKey", 404, s3_exceptions.NoSuchKey)
    throttled = client_error("SlowDown", 503, s3_exceptions.NoSuchKey)
    assert type(no_such_key).__module__ != "botocore.exceptions"  # made by the error factory
    assert is_transient(no_such_key) is False
    assert is_transient(throttled) is True


def test_same_verdict_as_isinstance_for_every_botocore_exception_class() -> None:
    errors = every_botocore_exception()
    assert len(errors) > 50  # the whole module, not a handful
    differing = [type(e).__name__ for e in errors if is_transient(e) != isinstance_classifier(e)]
    assert not differing
    transient = {type(e).__name__ for e in errors if is_transient(e)}
    assert {"EndpointConnectionError", "ReadTimeoutError", "ClientError"} <= transient


def test_classifying_imports_no_botocore() -> None:
    """In a fresh interpreter: importing the module and classifying errors loads no botocore."""
    code = (
        "import sys\n"
        "from pixelforge_core.transient import is_transient\n"
        "assert is_transient(ConnectionResetError()) and not is_transient(ValueError())\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0] in {'botocore', 'boto3'}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"
