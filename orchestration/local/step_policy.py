"""How the local runner treats a failed step attempt: retry it or not, and how long to wait.

Snowflake retries a failed graph from the failed task (TASK_AUTO_RETRY_ATTEMPTS); locally each
step retries a transient error with capped exponential backoff and fails a permanent one at
once. A step that overran USER_TASK_TIMEOUT_MS is a failure, retried like one.
"""

from __future__ import annotations

import random

from botocore.exceptions import ClientError

from orchestration.graph import RetryPolicy
from orchestration.local.dbt_command import DbtStepError
from orchestration.local.external_function import RenderServiceError
from pixelforge_core.transient import is_transient
from snowpark_procs.steps.common import StepError


class StepTimeoutError(TimeoutError):
    """A step attempt ran longer than USER_TASK_TIMEOUT_MS (recorded after it returned)."""

    def __init__(self, step: str, elapsed_s: float, timeout_s: float) -> None:
        super().__init__(
            f"{step} timed out: ran {elapsed_s:.1f} s, over USER_TASK_TIMEOUT_MS = "
            f"{timeout_s * 1000:.0f} ms (its committed merges are kept)"
        )


# Errors that say the code, its input or its access is wrong (a ClientError not classed as
# transient: AccessDenied, NoSuchBucket): retrying the same step cannot help.
PERMANENT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ClientError)


def is_retryable(error: BaseException) -> bool:
    """Transient failures (network, throttling, 5xx, a service down) are retried with backoff;
    permanent ones (bad SQL, bad arguments, failing data tests) fail the step at once."""
    if is_transient(error) or isinstance(error, StepError | RenderServiceError):
        return True
    if isinstance(error, DbtStepError):
        return error.transient
    if isinstance(error, PERMANENT_ERRORS):
        return False
    # a ProgrammingError is the warehouse rejecting the SQL itself
    return type(error).__name__ != "ProgrammingError"


def backoff_s(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """Exponential backoff, capped, with jitter over the upper half: attempt 1 waits up to
    initial_backoff_s, each later attempt up to twice as long, never over max_backoff_s."""
    ceiling = min(policy.max_backoff_s, policy.initial_backoff_s * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)
