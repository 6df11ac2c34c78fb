"""Step retry policy: which failures are retried, and how long the runner waits between tries."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from orchestration.graph import RetryPolicy
from orchestration.history import consecutive_failures
from orchestration.local.dbt_command import DbtStepError
from orchestration.local.external_function import RenderServiceError
from orchestration.local.step_policy import StepTimeoutError, backoff_s, is_retryable
from snowpark_procs.run_config import RunConfigError
from snowpark_procs.steps.common import StepError


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


@pytest.mark.parametrize(
    "error",
    [
        _client_error("SlowDown", 503),
        _client_error("InternalError", 500),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
        RenderServiceError("render service unreachable"),
        StepError("12 of 12 files could not be rendered"),
        DbtStepError("dbt could not connect", transient=True),
        RuntimeError("unknown: retried to be safe"),
    ],
)
def test_transient_failures_are_retried(error):
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        _client_error("AccessDenied", 403),
        RunConfigError("end must be after start"),
        KeyError("RELATIVE_PATH"),
        DbtStepError("unique_fct_file_versions failed", transient=False),
        type("ProgrammingError", (Exception,), {})("SQL compilation error"),
    ],
)
def test_permanent_failures_fail_the_step_at_once(error):
    assert not is_retryable(error)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(max_attempts=10, initial_backoff_s=2.0, max_backoff_s=30.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (9, 30.0)]:
        waits = [backoff_s(policy, attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jittered, not a fixed sleep


def test_a_step_over_its_timeout_is_a_failure_retried_like_one():
    error = StepTimeoutError("extract_metadata", 612.4, 600.0)
    assert is_retryable(error)
    assert "timed out" in str(error) and "USER_TASK_TIMEOUT_MS = 600000" in str(error)


@pytest.mark.parametrize(
    ("states", "failures"),
    [
        (["FAILED", "FAILED", "SUCCEEDED", "FAILED"], 2),
        (["FAILED", "SKIPPED", "FAILED", "CANCELLED", "FAILED"], 3),  # indeterminate: not counted
        (["SUCCEEDED", "FAILED"], 0),
        ([], 0),
    ],
)
def test_consecutive_failures_count_like_suspend_task_after_num_failures(states, failures):
    assert consecutive_failures(states) == failures
