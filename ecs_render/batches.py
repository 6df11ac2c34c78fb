"""State of the asynchronous external-function protocol, keyed by Snowflake's batch id.

Snowflake sends `sf-external-function-query-batch-id` with each POST, with every GET that polls
a 202, and with its retries, so the batch id is the idempotency key. Several ECS tasks sit
behind one load balancer and a GET may reach any of them, so what another task must find lives
in the thumbnails bucket under batches/ (a lifecycle rule expires the prefix after a day):

- batches/{sha256(batch id)}.accepted.json is written before the batch's first 202. A GET for
  an id with neither this nor a result was never accepted by any task: a definite 404, where
  an endless 202 would keep Snowflake polling for its full 10 minutes.
- batches/{sha256(batch id)}.json holds the finished response body, written put-if-absent once
  the batch has been answered 202. A batch answered 200 straight away is never polled, so it
  is kept only in this task's small memory of recent results (a retried POST on another task
  renders again, which finds every thumbnail in place and writes nothing).

In memory: the batches running on this task, dropped once finished and stored, plus a bounded
number of recent results. At most max_running batches run at once (those without a batch id
included); a new one past that is answered "busy" (HTTP 429 with Retry-After) and not started.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ecs_render.settings import DEFAULT_MAX_RUNNING_BATCHES
from ecs_render.storage import S3Client, StorageFailure, put_record_if_absent, read_record

logger = logging.getLogger("ecs_render.batches")

BATCH_ID_HEADER = "sf-external-function-query-batch-id"
BATCH_PREFIX = "batches/"
RECENT_RESULTS = 64  # results answered 200 directly, kept for a POST retried on this task

BatchRender = Callable[[], Awaitable[bytes]]


def result_key(batch_id: str) -> str:
    """Key of a finished batch's response body: batches/{sha256 of the batch id}.json."""
    return f"{BATCH_PREFIX}{_digest(batch_id)}.json"


def accepted_key(batch_id: str) -> str:
    """Key of the record that a task accepted the batch: batches/{sha256}.accepted.json."""
    return f"{BATCH_PREFIX}{_digest(batch_id)}.accepted.json"


def _digest(batch_id: str) -> str:
    # Batch ids are opaque to us: hashing gives a fixed-length key with no surprising characters.
    return hashlib.sha256(batch_id.encode()).hexdigest()


@dataclass(frozen=True)
class BatchAnswer:
    """What the service answers about a batch; the app maps `state` to an HTTP status."""

    state: Literal["done", "pending", "unknown", "unavailable", "failed", "busy"]
    body: bytes = b""  # the response body when done
    message: str = ""


PENDING = BatchAnswer("pending")


def _done(body: bytes) -> BatchAnswer:
    return BatchAnswer("done", body)


class BatchRecords:
    """The batches/ records in the thumbnails bucket; S3 calls run off the event loop."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def read_result(self, batch_id: str) -> bytes | StorageFailure | None:
        return await asyncio.to_thread(
            read_record, self._client, self._bucket, result_key(batch_id)
        )

    async def write_result(self, batch_id: str, body: bytes) -> bool | StorageFailure:
        """Store a finished batch put-if-absent: a second writer keeps the first body."""
        key = result_key(batch_id)
        return await asyncio.to_thread(put_record_if_absent, self._client, self._bucket, key, body)

    async def is_accepted(self, batch_id: str) -> bool | StorageFailure:
        record = await asyncio.to_thread(
            read_record, self._client, self._bucket, accepted_key(batch_id)
        )
        return record if isinstance(record, StorageFailure) else record is not None

    async def write_accepted(self, batch_id: str, rows: int) -> bool | StorageFailure:
        # The content is for operators: which task took the batch, and when.
        record = {
            "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "task": socket.gethostname(),
            "rows": rows,
        }
        key, data = accepted_key(batch_id), json.dumps(record).encode()
        return await asyncio.to_thread(put_record_if_absent, self._client, self._bucket, key, data)


@dataclass(eq=False)
class _Batch:
    """A batch running on this task; mutable because it changes as the batch runs."""

    rows: int
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    body: bytes | None = None
    error: str | None = None
    announced: bool = False  # a 202 went out: the result must be stored for any task's GET
    accepted_stored: bool = False
    task: asyncio.Task[None] | None = None


class BatchRegistry:
    """Runs batches in the background and answers POSTs and GETs about them by batch id."""

    def __init__(
        self,
        records: BatchRecords,
        sync_wait_s: float,
        max_running: int = DEFAULT_MAX_RUNNING_BATCHES,
    ) -> None:
        self._records = records
        self._sync_wait_s = sync_wait_s
        self._max_running = max_running
        self._running: dict[str, _Batch] = {}
        self._unnamed = 0  # batches without a batch id, rendered while their POST waits
        self._recent: OrderedDict[str, BatchAnswer] = OrderedDict()

    @property
    def running(self) -> int:
        return len(self._running) + self._unnamed

    def _busy(self) -> BatchAnswer | None:
        """The answer for a batch that would start now, if this task runs its cap already."""
        if self.running < self._max_running:
            return None
        logger.warning("refusing a new batch: %d batches are running", self.running)
        return BatchAnswer(
            "busy", message=f"this task is running {self.running} batches, its cap; retry later"
        )

    async def run_unnamed(self, render: BatchRender) -> BatchAnswer:
        """A POST without a batch id: rendered before answering, within the same cap."""
        if (busy := self._busy()) is not None:
            return busy
        self._unnamed += 1
        try:
            return _done(await render())
        except Exception as error:  # rows fail as data, so this is a bug or a broken pool
            logger.exception("a batch without an id failed as a whole")
            return BatchAnswer("failed", message=f"batch failed: {error!r}")
        finally:
            self._unnamed -= 1

    async def submit(self, batch_id: str, rows: int, render: BatchRender) -> BatchAnswer:
        """POST: the finished result if there is one, else join or start the batch and wait."""
        batch = self._running.get(batch_id)
        if batch is None:
            if (recent := self._recent_result(batch_id)) is not None:
                return recent
            stored = await self._records.read_result(batch_id)
            if isinstance(stored, bytes):
                logger.info("batch %s answered from its stored result", batch_id)
                return _done(stored)
            if isinstance(stored, StorageFailure):
                # Rendering again is safe (put-if-absent everywhere), only slower.
                logger.warning("batch %s: stored result unreadable: %s", batch_id, stored.message)
            # Another request for this id may have started (or even finished) it meanwhile.
            if (recent := self._recent_result(batch_id)) is not None:
                return recent
            batch = self._running.get(batch_id)
            if batch is None:
                if (busy := self._busy()) is not None:
                    return busy  # a retry of this POST joins nothing and starts afresh
                batch = self._start(batch_id, rows, render)
        return await self._wait(batch_id, batch)

    def _recent_result(self, batch_id: str) -> BatchAnswer | None:
        recent = self._recent.get(batch_id)
        if recent is None or recent.state != "done":
            return None  # a remembered failure is run again
        logger.info("batch %s answered from this task's recent results", batch_id)
        return recent

    async def poll(self, batch_id: str) -> BatchAnswer:
        """GET: the result when finished (here or on any task), 202 while accepted, else 404."""
        batch = self._running.get(batch_id)
        if batch is not None:
            if batch.body is not None:
                return _done(batch.body)
            return await self._announce(batch_id, batch)
        recent = self._recent.get(batch_id)
        if recent is not None:
            return recent
        stored = await self._records.read_result(batch_id)
        if isinstance(stored, bytes):
            return _done(stored)
        accepted = await self._records.is_accepted(batch_id)
        if isinstance(stored, StorageFailure) or isinstance(accepted, StorageFailure):
            # A 5xx could end Snowflake's polling; a 202 makes it ask again a little later.
            logger.warning("batch %s: S3 unreadable while polling; answering 202", batch_id)
            return PENDING
        if accepted:
            return PENDING  # another task is rendering it (or stopped doing so: see README)
        return BatchAnswer("unknown", message=f"no task has accepted batch {batch_id!r}")

    async def drain(self, timeout_s: float) -> None:
        """Let running batches finish and be stored before the task stops; cancel the rest."""
        tasks = [batch.task for batch in self._running.values() if batch.task is not None]
        if not tasks:
            return
        logger.info("waiting up to %g s for %d running batches", timeout_s, len(tasks))
        _, unfinished = await asyncio.wait(tasks, timeout=timeout_s)
        for task in unfinished:
            task.cancel()
        if unfinished:
            logger.warning("stopping with %d batches unfinished", len(unfinished))
            await asyncio.wait(unfinished)

    def _start(self, batch_id: str, rows: int, render: BatchRender) -> _Batch:
        batch = _Batch(rows)
        self._running[batch_id] = batch
        self._recent.pop(batch_id, None)  # a remembered failure is being retried
        batch.task = asyncio.create_task(self._run(batch_id, batch, render))
        return batch

    async def _run(self, batch_id: str, batch: _Batch, render: BatchRender) -> None:
        try:
            batch.body = await render()
        except Exception as error:  # rows fail as data, so this is a bug or a broken pool
            logger.exception("batch %s failed as a whole", batch_id)
            batch.error = f"batch {batch_id!r} failed: {error!r}"
            self._remember(batch_id, BatchAnswer("failed", message=batch.error))
            self._running.pop(batch_id, None)
            batch.settled.set()
            return
        batch.settled.set()
        # No await since the body was set: a request that saw no body has already announced.
        if batch.announced:
            stored = await self._records.write_result(batch_id, batch.body)
            if isinstance(stored, StorageFailure):
                # Only this task can answer now; GETs elsewhere see 202 until Snowflake gives up.
                logger.error("batch %s finished but was not stored: %s", batch_id, stored.message)
                self._remember(batch_id, _done(batch.body))
            else:
                logger.info("batch %s stored for polling (new=%s)", batch_id, stored)
        else:
            self._remember(batch_id, _done(batch.body))
        self._running.pop(batch_id, None)

    async def _wait(self, batch_id: str, batch: _Batch) -> BatchAnswer:
        with contextlib.suppress(TimeoutError):  # the batch goes on in the background
            await asyncio.wait_for(batch.settled.wait(), self._sync_wait_s)
        if batch.body is not None:
            return _done(batch.body)
        if batch.error is not None:
            return BatchAnswer("failed", message=batch.error)
        return await self._announce(batch_id, batch)

    async def _announce(self, batch_id: str, batch: _Batch) -> BatchAnswer:
        """Answer 202 for a running batch, after recording that this task accepted it."""
        batch.announced = True
        if not batch.accepted_stored:
            stored = await self._records.write_accepted(batch_id, batch.rows)
            if isinstance(stored, StorageFailure):
                # Without the record a GET on another task would answer 404; a 5xx makes
                # Snowflake retry the POST, which joins the running batch here.
                return BatchAnswer("unavailable", message=stored.message)
            batch.accepted_stored = True
            logger.info(
                "batch %s accepted: %d rows continue in the background", batch_id, batch.rows
            )
        if batch.body is not None:
            return _done(batch.body)
        return PENDING

    def _remember(self, batch_id: str, answer: BatchAnswer) -> None:
        self._recent[batch_id] = answer
        self._recent.move_to_end(batch_id)
        while len(self._recent) > RECENT_RESULTS:
            self._recent.popitem(last=False)
