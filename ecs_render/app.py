"""HTTP face of the render service: POST /render (Snowflake's external function), GET /healthz.

Rows of a batch render in parallel on a process pool whose workers each hold their own S3
client; a row that hangs or kills its worker becomes a failed row and the pool is rebuilt.
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
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
from ecs_render.thumbnails import render_thumbnails
from snowpark_procs.reason_codes import RENDER_FAILED, RENDER_TIMEOUT

logger = logging.getLogger("ecs_render")

MAX_BODY_BYTES = 16 * MIB  # a 50-row batch is a few KiB; this bounds a gzip bomb
HARD_TIMEOUT_GRACE_S = 5.0  # the worker's own alarm should answer first; this catches C-level hangs


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


def _raise_row_timeout(signum: int, frame: FrameType | None) -> None:
    raise _RowTimeout


def _warm_up() -> int:
    return os.getpid()


def render_in_worker(request: RenderRequest) -> RenderResult:
    """Render one row inside a pool worker under the per-row time budget."""
    state = _worker_state
    if state is None:
        return failed_result(RENDERER_UNAVAILABLE, "render worker was not initialized")
    timeout_s = state.settings.render_timeout_s
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            return ensure_thumbnails(state.client, state.settings, request, render_thumbnails)
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
        try:
            await pool.warm_up()
            yield {"pool": pool, "settings": settings}
        finally:
            pool.close()

    return Starlette(
        routes=[
            Route("/render", render_batch, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def render_batch(request: Request) -> Response:
    """The external function: one result per row, in order; 400 only for a malformed batch."""
    started = time.monotonic()
    try:
        rows = parse_batch(await _read_body(request))
    except BatchError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    pool: RenderPool = request.state.pool
    results = await asyncio.gather(*(_render_row(pool, row) for row in rows))
    ok = sum(result.status == "ok" for _, result in results)
    logger.info(
        "render batch rows=%d ok=%d failed=%d seconds=%.2f batch_id=%s",
        len(results),
        ok,
        len(results) - ok,
        time.monotonic() - started,
        request.headers.get("sf-external-function-query-batch-id", "-"),
    )
    return Response(build_response(results), media_type="application/json")


async def _render_row(
    pool: RenderPool, row: RenderRequest | RowFailure
) -> tuple[int, RenderResult]:
    if isinstance(row, RowFailure):
        return row.row_number, row.result
    return row.row_number, await pool.render(row)


async def _read_body(request: Request) -> bytes:
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() != "gzip":
        return body
    # Snowflake compresses batches on AWS (COMPRESSION = AUTO) when the gateway passes them on.
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
