"""Local counterpart of the external function raw.render_thumbnails.

Snowflake batches rows and POSTs them to the API Gateway endpoint in the external-function wire
format; this does the same to the render service on loopback, so the service sees exactly the
requests it gets in production. Like Snowflake it sends the sf-external-function-* headers with
a fresh batch id per batch and follows the asynchronous protocol: on 202 it polls with GETs that
carry the same batch id and no body, waiting longer each time, until a 200 or Snowflake's
10-minute limit. A POST that fails on the network is sent once more with the same batch id.

This module copies Snowflake's side of the external-function protocol on purpose, fan-out
included: one `render` call is one statement, whose rows Snowflake splits into batches of at most
MAX_BATCH_ROWS (RENDER_BUDGET.max_batch_rows(), the function's own setting) and sends several at
once, each batch with its own batch id ("Designing high-performance external functions",
shared/reference/snowflake-semantics.md §4.3). Here a small thread pool does that, sized by the
batches in flight the render budget plans for the stack's renderer (one render service: one
task); production has no such pool, Snowflake chooses how many batches it keeps in flight. Results
come back in request order; a batch that still fails after its retries fails the whole statement
(Snowflake fails the query), with RenderServiceError naming the batch.
"""

from __future__ import annotations

import gzip
import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.render_wire import EXTERNAL_FUNCTION_COMPRESSION, RenderRequest

FUNCTION_NAME = "RENDER_THUMBNAIL"
ASYNC_TIMEOUT_S = 600.0  # Snowflake's total async timeout; not configurable there
REQUEST_TIMEOUT_S = 60.0  # one POST or GET; the service answers within its sync wait (20 s)
# The local stack runs one render service: the renderer of one task.
LOCAL_RENDER_TASKS = 1
# Refused, reset, timed out or cut short: the request may not have reached the service.
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


class RenderServiceError(Exception):
    """The render service could not be reached or answered with an error for the whole batch."""


@dataclass(frozen=True)
class PollBackoff:
    """Waits between GET polls: first_s, then growing by factor, capped at max_s."""

    first_s: float = 0.5
    factor: float = 1.5
    max_s: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_s, delay * self.factor)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


class HttpRenderer:
    """Renders statements through the render service as Snowflake's external function does:
    split into batches of at most `batch_rows`, at most `concurrency` of them in flight."""

    def __init__(
        self,
        endpoint: str,
        timeout_s: float = ASYNC_TIMEOUT_S,
        *,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        backoff: PollBackoff = PollBackoff(),
        sleep: Callable[[float], None] = time.sleep,
        batch_rows: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        self._batch_rows = batch_rows or RENDER_BUDGET.max_batch_rows()
        self._concurrency = concurrency or RENDER_BUDGET.batches_in_flight(LOCAL_RENDER_TASKS)
        if self._batch_rows < 1 or self._concurrency < 1:
            raise ValueError(
                f"batch_rows ({self._batch_rows}) and concurrency ({self._concurrency}) must be "
                "at least 1"
            )
        self._endpoint = endpoint.rstrip("/") + "/render"
        self._timeout_s = timeout_s
        self._request_timeout_s = request_timeout_s
        self._backoff = backoff
        self._sleep = sleep

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        """One result object per request, in order; RenderServiceError if a batch fails."""
        if not requests:
            return []  # Snowflake never sends an empty batch
        size = self._batch_rows
        batches = [requests[start : start + size] for start in range(0, len(requests), size)]
        if len(batches) == 1:
            return self._render_batch(batches[0])
        workers = min(self._concurrency, len(batches))
        with ThreadPoolExecutor(workers, thread_name_prefix="external-function") as pool:
            futures = [pool.submit(self._render_batch, batch) for batch in batches]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception()), None)
            if failed is not None:
                for future in futures:
                    future.cancel()  # the query fails: batches not yet sent are not sent
                raise RenderServiceError(
                    f"batch {futures.index(failed) + 1} of {len(futures)} of a "
                    f"{len(requests)}-row statement failed, so the statement fails: "
                    f"{failed.exception()}"
                ) from failed.exception()
            return [result for future in futures for result in future.result()]

    def _render_batch(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        """One batch: POST, 429 retries and polls with one batch id; its results in order."""
        batch_id = str(uuid.uuid4())
        deadline = time.monotonic() + self._timeout_s
        body = json.dumps(
            {
                "data": [
                    [row, r.relative_path, r.etag, r.sha256, r.size_bytes]
                    for row, r in enumerate(requests)
                ]
            }
        ).encode("utf-8")
        if EXTERNAL_FUNCTION_COMPRESSION in {"auto", "gzip"}:  # AUTO is GZIP on AWS
            body = gzip.compress(body)
        answer = self._send("POST", batch_id, body, deadline)
        busy = self._backoff.delays()
        # Snowflake retries a 429 (a full task) with the same batch id, more slowly each time
        while answer.status == 429 and time.monotonic() < deadline:
            self._sleep(min(next(busy), max(deadline - time.monotonic(), 0.0)))
            answer = self._send("POST", batch_id, body, deadline)
        delays = self._backoff.delays()
        while answer.status == 202:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RenderServiceError(
                    f"render service did not finish batch {batch_id} ({len(requests)} rows) "
                    f"within {self._timeout_s:g} s"
                )
            self._sleep(min(next(delays), remaining))
            answer = self._send("GET", batch_id, None, deadline)
        if answer.status != 200:
            raise RenderServiceError(
                f"render service answered {answer.status} for batch {batch_id}: "
                f"{_detail(answer.body)}"
            )
        return _results(answer.body, len(requests), batch_id)

    def _send(self, method: str, batch_id: str, body: bytes | None, deadline: float) -> _Answer:
        """One request, sent a second time with the same batch id if the network fails."""
        try:
            return self._request(method, batch_id, body, deadline)
        except _NETWORK_ERRORS as error:
            if deadline <= time.monotonic():
                raise self._unreachable(method, batch_id, error) from error
        # Snowflake retries transient network errors with the same batch id; once is enough here.
        try:
            return self._request(method, batch_id, body, deadline)
        except _NETWORK_ERRORS as error:
            raise self._unreachable(method, batch_id, error) from error

    def _request(self, method: str, batch_id: str, body: bytes | None, deadline: float) -> _Answer:
        headers = {
            "sf-external-function-format": "json",
            "sf-external-function-format-version": "1.0",
            "sf-external-function-query-batch-id": batch_id,
            "sf-external-function-name": FUNCTION_NAME,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
            if body.startswith(b"\x1f\x8b"):
                headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(self._endpoint, data=body, headers=headers, method=method)
        timeout_s = max(0.1, min(self._request_timeout_s, deadline - time.monotonic()))
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return _Answer(response.status, response.read())
        except urllib.error.HTTPError as error:  # any status urllib does not treat as success
            return _Answer(error.code, error.read())

    def _unreachable(self, method: str, batch_id: str, error: Exception) -> RenderServiceError:
        return RenderServiceError(
            f"render service unreachable at {self._endpoint} ({method} of batch {batch_id}, "
            f"tried twice): {error}"
        )


def _results(body: bytes, rows: int, batch_id: str) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RenderServiceError(
            f"render service returned non-JSON for batch {batch_id}"
        ) from error
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != rows:
        raise RenderServiceError(f"render service returned a malformed batch for {batch_id}")
    by_row = {row[0]: row[1] for row in data if isinstance(row, list) and len(row) == 2}
    if sorted(by_row) != list(range(rows)):
        raise RenderServiceError(
            f"render service returned rows that do not match the request (batch {batch_id})"
        )
    return [by_row[index] for index in range(rows)]


def _detail(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace") or "(empty body)"
