"""HTTP face of the render service: POST and GET /render (Snowflake's external function), /healthz.

Rows of a batch render in parallel on a process pool whose workers each hold their own S3
client; a row that hangs or kills its worker becomes a failed row and the pool is rebuilt.
A POST carrying Snowflake's batch id may be answered 202 while the batch goes on in the
background; GETs with the same id then poll it (ecs_render.batches keeps that state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import Any, BinaryIO

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecs_render.batches import BATCH_ID_HEADER, BatchAnswer, BatchRecords, BatchRegistry
from ecs_render.protocol import (
    RENDERER_UNAVAILABLE,
    BatchError,
    RenderRequest,
    RenderResult,
    RowFailure,
    build_response,
    failed_result,
    parse_batch,
)
from ecs_render.settings import MIB, RenderSettings
from ecs_render.storage import S3Client, ensure_thumbnails, make_s3_client
from ecs_render.thumbnails import RenderFailure, Thumbnail, render_thumbnails
from snowpark_procs.reason_codes import RENDER_FAILED, RENDER_TIMEOUT

logger = logging.getLogger("ecs_render")

GZIP_MAGIC = b"\x1f\x8b"
MAX_BODY_BYTES = 16 * MIB  # a 50-row batch is a few KiB; this bounds a gzip bomb
HARD_TIMEOUT_GRACE_S = 5.0  # the worker's own alarm should answer first; this catches C-level hangs
# At shutdown, running batches get this long to finish and be stored (ECS waits 30 s by default
# between SIGTERM and SIGKILL); a batch cut short leaves Snowflake polling until it gives up.
DRAIN_TIMEOUT_S = 20.0
# An async answer is a status, not data; Snowflake reads only the status of a 202.
_ACCEPTED_BODY = b"{}"


class _RowTimeout(BaseException):
    """Raised by SIGALRM inside a worker; a BaseException so no `except Exception` swallows it."""


@dataclass(frozen=True)
class _WorkerState:
    settings: RenderSettings
    client: S3Client


# Process-local to each pool worker, set once by _init_worker; the server process never sets it.
_worker_state: _WorkerState | None = None


def _init_worker(settings: RenderSettings) -> None:
    global _worker_state  # the one per-process slot a pool initializer can fill
    signal.signal(signal.SIGALRM, _raise_row_timeout)
    _worker_state = _WorkerState(settings, make_s3_client())


# Set with the SIGALRM that ends a row. The signal's exception is lost when it lands inside a C
# callback into Python (libvips' read and log handlers: cffi prints and drops it), so the flag
# is checked again once the render returns.
_row_expired = False


def _raise_row_timeout(signum: int, frame: FrameType | None) -> None:
    global _row_expired  # see above: read back by _render_within_budget
    _row_expired = True
    raise _RowTimeout


def _render_within_budget(
    source: BinaryIO, sizes: Sequence[int]
) -> list[Thumbnail] | RenderFailure:
    rendered = render_thumbnails(source, sizes)
    if _row_expired:
        raise _RowTimeout
    return rendered


def _warm_up() -> int:
    return os.getpid()


def render_in_worker(request: RenderRequest) -> RenderResult:
    """Render one row inside a pool worker under the per-row time budget."""
    state = _worker_state
    if state is None:
        return failed_result(RENDERER_UNAVAILABLE, "render worker was not initialized")
    timeout_s = state.settings.render_timeout_s
    global _row_expired  # reset for this row before its alarm is armed
    _row_expired = False
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            return ensure_thumbnails(state.client, state.settings, request, _render_within_budget)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _RowTimeout:
        return failed_result(RENDER_TIMEOUT, f"rendering took longer than {timeout_s:g} s")
    except Exception as error:
        logger.exception("row %s (%s) failed", request.row_number, request.relative_path)
        return failed_result(RENDER_FAILED, f"unexpected renderer error: {error!r}")


class RenderPool:
    """Runs rows on worker processes, one row per worker at a time, and heals the pool."""

    def __init__(self, settings: RenderSettings) -> None:
        self._settings = settings
        # Rows wait here, not in the executor's queue, so the timeout measures rendering only.
        self._slots = asyncio.Semaphore(settings.render_workers)
        self._generation = 0
        self._executor = self._new_executor()
        self.rows_started = 0  # rows handed to render(), for logs and tests

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn: the server process runs threads (event loop, S3 pools) that fork would copy.
        return ProcessPoolExecutor(
            max_workers=self._settings.render_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._settings,),
        )

    async def warm_up(self) -> None:
        """Start every worker now so the first batch does not pay for imports."""
        loop = asyncio.get_running_loop()
        workers = [
            loop.run_in_executor(self._executor, _warm_up)
            for _ in range(self._settings.render_workers)
        ]
        await asyncio.gather(*workers)

    async def render(self, request: RenderRequest) -> RenderResult:
        hard_timeout_s = self._settings.render_timeout_s + HARD_TIMEOUT_GRACE_S
        self.rows_started += 1
        async with self._slots:
            # A crash fails every row in flight; the second try spares the rows that did not
            # cause it, while a row that crashes its worker again is reported failed.
            for _ in range(2):
                generation = self._generation
                try:
                    future = self._executor.submit(render_in_worker, request)
                    return await asyncio.wait_for(asyncio.wrap_future(future), hard_timeout_s)
                except TimeoutError:
                    self._rebuild(generation, f"row {request.row_number} hung")
                    return failed_result(
                        RENDER_TIMEOUT,
                        f"rendering did not finish within {hard_timeout_s:g} s; worker restarted",
                    )
                except BrokenProcessPool:
                    self._rebuild(generation, "a worker died")
                except Exception as error:  # the pool itself failed (shutting down, pickling)
                    logger.exception("row %s could not be run", request.row_number)
                    return failed_result(RENDERER_UNAVAILABLE, f"renderer unavailable: {error!r}")
            return failed_result(RENDER_FAILED, "the render worker crashed on this file twice")

    def _rebuild(self, generation: int, why: str) -> None:
        if generation != self._generation:
            return  # another row already replaced this pool
        logger.warning("rebuilding the render pool: %s", why)
        old = self._executor
        self._generation += 1
        self._executor = self._new_executor()
        _stop_executor(old, grace_s=0.0)

    def close(self) -> None:
        _stop_executor(self._executor, grace_s=10.0)


def _stop_executor(executor: ProcessPoolExecutor, grace_s: float) -> None:
    # ProcessPoolExecutor cannot kill a busy worker before Python 3.14 (terminate_workers),
    # so hung workers are terminated through its process table.
    processes = list((executor._processes or {}).values())  # noqa: SLF001
    executor.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


def create_app(settings: RenderSettings) -> Starlette:
    """The render service; its worker pool lives from startup to shutdown (the lifespan)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        pool = RenderPool(settings)
        # The server process's own client, for batch records; workers hold theirs.
        records = BatchRecords(make_s3_client(), settings.thumbnails_bucket)
        batches = BatchRegistry(records, settings.sync_wait_s)
        try:
            await pool.warm_up()
            yield {"pool": pool, "batches": batches, "settings": settings}
            await batches.drain(DRAIN_TIMEOUT_S)
        finally:
            pool.close()

    return Starlette(
        routes=[
            Route("/render", render_batch, methods=["POST"]),
            Route("/render", poll_batch, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def render_batch(request: Request) -> Response:
    """The external function: one result per row, in order; 400 only for a malformed batch.

    Without a batch id the batch is rendered before answering. With one (Snowflake always sends
    it) the answer is 200 when the batch finishes within the sync wait or was finished before
    (a retry), else 202 while it goes on in the background.
    """
    try:
        rows = parse_batch(await _read_body(request))
    except BatchError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    pool: RenderPool = request.state.pool
    batch_id = request.headers.get(BATCH_ID_HEADER, "")
    if not batch_id:
        return _batch_response(BatchAnswer("done", await _render_rows(pool, rows, "-")))
    batches: BatchRegistry = request.state.batches
    answer = await batches.submit(batch_id, len(rows), lambda: _render_rows(pool, rows, batch_id))
    return _batch_response(answer)


async def poll_batch(request: Request) -> Response:
    """Snowflake's poll after a 202: same batch id, no body; 200, 202 or 404 for an unknown id."""
    batch_id = request.headers.get(BATCH_ID_HEADER, "")
    if not batch_id:
        error = f"GET /render polls a batch and needs the {BATCH_ID_HEADER} header"
        return JSONResponse({"error": error}, status_code=400)
    batches: BatchRegistry = request.state.batches
    return _batch_response(await batches.poll(batch_id))


def _batch_response(answer: BatchAnswer) -> Response:
    match answer.state:
        case "done":
            return Response(answer.body, media_type="application/json")
        case "pending":
            return Response(_ACCEPTED_BODY, status_code=202, media_type="application/json")
        case "unknown":
            return JSONResponse({"error": answer.message}, status_code=404)
        case "unavailable":
            return JSONResponse({"error": answer.message}, status_code=503)
        case "failed":
            return JSONResponse({"error": answer.message}, status_code=500)


async def _render_rows(
    pool: RenderPool, rows: list[RenderRequest | RowFailure], batch_id: str
) -> bytes:
    started = time.monotonic()
    results = await asyncio.gather(*(_render_row(pool, row) for row in rows))
    ok = sum(result.status == "ok" for _, result in results)
    logger.info(
        "render batch rows=%d ok=%d failed=%d seconds=%.2f batch_id=%s",
        len(results),
        ok,
        len(results) - ok,
        time.monotonic() - started,
        batch_id,
    )
    return build_response(results)


async def _render_row(
    pool: RenderPool, row: RenderRequest | RowFailure
) -> tuple[int, RenderResult]:
    if isinstance(row, RowFailure):
        return row.row_number, row.result
    return row.row_number, await pool.render(row)


async def _read_body(request: Request) -> bytes:
    """The batch's JSON, inflated when it is gzip. Decided by the body's magic bytes, never by
    the Content-Encoding header: Snowflake gzips batches on AWS (COMPRESSION = AUTO, "CREATE
    EXTERNAL FUNCTION"), and API Gateway may inflate a payload yet forward the header
    (AWS "Payload compression for REST APIs"). JSON never starts with 0x1f."""
    body = await request.body()
    if not body.startswith(GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        inflated = inflater.decompress(body, MAX_BODY_BYTES)
    except zlib.error as error:
        raise BatchError(f"request body is not valid gzip: {error}") from None
    if inflater.unconsumed_tail:
        raise BatchError(f"request body inflates to more than {MAX_BODY_BYTES} bytes")
    return inflated


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})
