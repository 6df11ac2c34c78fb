"""HTTP face of the render service: POST and GET /render (Snowflake's external function), /healthz.

Rows of a batch render in parallel: the server reads each source from S3 and writes its
thumbnails, and confined worker processes (ecs_render.decode_pool) decode the bytes, one row
per worker at a time. A row that hangs or kills its worker fails alone; the others go on.
A POST carrying Snowflake's batch id may be answered 202 while the batch goes on in the
background; GETs with the same id then poll it (ecs_render.batches keeps that state).

A request the service refuses gets {"error": {"code": <stable code>, "message": ...}} and never
a 500. Snowflake takes any status but 200/202 as an error and retries only 429 and 5xx, with the
same batch id ("Designing high-performance external functions",
https://docs.snowflake.com/en/sql-reference/external-functions-implementation; "External
functions best practices", https://docs.snowflake.com/en/sql-reference/external-functions-best-practices):
a 4xx ends the query (the batch is wrong and stays wrong), a 429 or 503 asks for the batch again
later; on a 429 Snowflake also slows the rate it sends rows at, so a full task answers 429.

    400 not_utf8, not_json, number_out_of_range, too_deep, not_a_batch, bad_gzip,
        bad_content_length, missing_batch_id, bad_batch_id
    404 unknown_batch (a GET for a batch no task accepted), not_found
    405 method_not_allowed
    413 body_too_large (by Content-Length before reading, or while reading or inflating),
        too_many_rows (over RenderSettings.max_batch_rows)
    429 too_many_batches (with Retry-After)
    503 storage_unavailable
    500 batch_failed only for a bug of the service itself, never for what a request holds.

Slightly over 300 lines: the routes and the refusals they answer are read together here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ecs_render.batches import BATCH_ID_HEADER, BatchAnswer, BatchRecords, BatchRegistry
from ecs_render.decode_pool import RENDER_THUMBNAILS, DecodePool, WorkerConfig
from ecs_render.protocol import (
    BAD_CONTENT_LENGTH,
    BAD_GZIP,
    BODY_TOO_LARGE,
    TOO_MANY_ROWS,
    BatchError,
    BatchRow,
    RowFailure,
    build_response,
    max_batch_bytes,
    parse_batch,
)
from ecs_render.rows import ensure_thumbnails
from ecs_render.settings import MIB, RenderSettings
from ecs_render.storage import make_s3_client
from pixelforge_core.render_wire import (
    RENDERER_UNAVAILABLE,
    STORAGE_UNAVAILABLE,
    RenderResult,
    failed_result,
)

logger = logging.getLogger("ecs_render")

GZIP_MAGIC = b"\x1f\x8b"
MAX_BODY_BYTES = 16 * MIB  # a 50-row batch is a few KiB; this bounds a gzip bomb
# At shutdown, running batches get this long to finish and be stored (ECS waits 30 s by default
# between SIGTERM and SIGKILL); a batch cut short leaves Snowflake polling until it gives up.
DRAIN_TIMEOUT_S = 20.0
# An async answer is a status, not data; Snowflake reads only the status of a 202.
_ACCEPTED_BODY = b"{}"
# When a task runs its cap of batches: long enough for one to finish its rows' turn.
RETRY_AFTER_S = 5
# Snowflake's batch ids are short opaque strings (a UUID-like id per batch); this bounds logs.
MAX_BATCH_ID_CHARS = 256
_TOO_LARGE_STATUS = 413
_STATUS_BY_CODE = {BODY_TOO_LARGE: _TOO_LARGE_STATUS, TOO_MANY_ROWS: _TOO_LARGE_STATUS}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


class RenderPool:
    """Runs rows: S3 I/O on the server's threads, decoding in confined worker processes.

    The server process holds the S3 client and the task's credentials and never parses a
    customer's file; each row's bytes go to a worker of ecs_render.decode_pool, which holds
    neither and cannot open a socket. A row that hangs or kills its worker affects no other row.
    """

    def __init__(self, settings: RenderSettings, decoder: str = RENDER_THUMBNAILS) -> None:
        self._settings = settings
        # Rows wait here, not on a worker, so the timeout measures rendering only.
        self._slots = asyncio.Semaphore(settings.render_workers)
        self._rows = ThreadPoolExecutor(settings.render_workers, thread_name_prefix="render-row")
        # One client for every row thread: low-level clients are thread safe (boto3 "Low-level
        # clients", https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html,
        # "Multithreading or multiprocessing with clients"); a pooled connection per row thread.
        self._client = make_s3_client(max_pool_connections=settings.render_workers + 1)
        self.decoders = DecodePool(
            WorkerConfig(
                address_space_bytes=settings.worker_memory_limit_mib * MIB,
                timeout_s=settings.render_timeout_s,
                max_source_bytes=settings.max_source_bytes,
                allow_unconfined=settings.allow_unconfined,
                decode=decoder,
            ),
            settings.render_workers,
        )
        self.rows_started = 0  # rows handed to render(), for logs and tests

    async def warm_up(self) -> None:
        """Start every worker now so the first batch does not pay for imports; raises
        WorkerStartError when a worker cannot be confined, and the service does not start."""
        await asyncio.to_thread(self.decoders.start)

    async def render(self, row: BatchRow) -> RenderResult:
        self.rows_started += 1
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._rows, self._render_row, row)

    def _render_row(self, row: BatchRow) -> RenderResult:
        try:
            return ensure_thumbnails(
                self._client,
                self._settings,
                row.request,
                self.decoders.decode,
                visual=self.decoders.visual,
            )
        except Exception as error:  # a bug of the service, not a fact about the file
            logger.exception("row %s (%s) failed", row.row_number, row.request.relative_path)
            return failed_result(RENDERER_UNAVAILABLE, f"renderer unavailable: {error!r}")

    def close(self) -> None:
        self.decoders.close(grace_s=10.0)
        self._rows.shutdown(wait=False, cancel_futures=True)


def create_app(settings: RenderSettings, decoder: str = RENDER_THUMBNAILS) -> Starlette:
    """The render service; its worker pool lives from startup to shutdown (the lifespan).

    decoder names the function the workers decode with ("module:function"); tests name probes.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        pool = RenderPool(settings, decoder)
        # A client for batch records, apart from the rows' one; workers hold none.
        records = BatchRecords(make_s3_client(), settings.thumbnails_bucket)
        batches = BatchRegistry(records, settings.sync_wait_s, settings.max_running_batches)
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
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )


async def render_batch(request: Request) -> Response:
    """The external function: one result per row, in order; a 4xx only for a malformed batch.

    Without a batch id the batch is rendered before answering. With one (Snowflake always sends
    it) the answer is 200 when the batch finishes within the sync wait or was finished before
    (a retry), else 202 while it goes on in the background.
    """
    settings: RenderSettings = request.state.settings
    try:
        batch_id = _batch_id(request, required=False)
        body = await _read_body(request, body_limit(settings))
        rows = parse_batch(body, settings.max_batch_rows)
    except BatchError as error:
        return _error(_STATUS_BY_CODE.get(error.code, 400), error.code, str(error))
    except ClientDisconnect:  # nobody is left to answer; not a fault of the service
        logger.info("client went away while sending a batch")
        return _error(400, "client_disconnected", "the client went away while sending")
    pool: RenderPool = request.state.pool
    batches: BatchRegistry = request.state.batches
    if not batch_id:
        return _batch_response(await batches.run_unnamed(lambda: _render_rows(pool, rows, "-")))
    answer = await batches.submit(batch_id, len(rows), lambda: _render_rows(pool, rows, batch_id))
    return _batch_response(answer)


async def poll_batch(request: Request) -> Response:
    """Snowflake's poll after a 202: same batch id, no body; 200, 202 or 404 for an unknown id."""
    try:
        batch_id = _batch_id(request, required=True)
    except BatchError as error:
        return _error(400, error.code, str(error))
    batches: BatchRegistry = request.state.batches
    return _batch_response(await batches.poll(batch_id))


def _batch_id(request: Request, *, required: bool) -> str:
    batch_id = request.headers.get(BATCH_ID_HEADER, "")
    if not batch_id and required:
        raise BatchError(
            "missing_batch_id", f"GET /render polls a batch and needs the {BATCH_ID_HEADER} header"
        )
    if len(batch_id) > MAX_BATCH_ID_CHARS or not batch_id.isprintable():
        raise BatchError(
            "bad_batch_id",
            f"{BATCH_ID_HEADER} must be at most {MAX_BATCH_ID_CHARS} printable characters",
        )
    return batch_id


def _batch_response(answer: BatchAnswer) -> Response:
    match answer.state:
        case "done":
            return Response(answer.body, media_type="application/json")
        case "pending":
            return Response(_ACCEPTED_BODY, status_code=202, media_type="application/json")
        case "unknown":
            return _error(404, "unknown_batch", answer.message)
        case "unavailable":
            return _error(503, STORAGE_UNAVAILABLE, answer.message)
        case "busy":
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            return _error(429, "too_many_batches", answer.message, retry)
        case "failed":
            return _error(500, "batch_failed", answer.message)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 (another path or method), in the same error shape."""
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    return _error(error.status_code, code, str(error.detail), dict(error.headers or {}))


async def _render_rows(pool: RenderPool, rows: list[BatchRow | RowFailure], batch_id: str) -> bytes:
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


async def _render_row(pool: RenderPool, row: BatchRow | RowFailure) -> tuple[int, RenderResult]:
    if isinstance(row, RowFailure):
        return row.row_number, row.result
    return row.row_number, await pool.render(row)


def body_limit(settings: RenderSettings) -> int:
    """Bytes a request body may have, raw or inflated: a batch of max_batch_rows rows fits."""
    return min(MAX_BODY_BYTES, max_batch_bytes(settings.max_batch_rows))


async def _read_body(request: Request, limit: int) -> bytes:
    """The batch's JSON, inflated when it is gzip; BatchError past limit bytes, decided from
    Content-Length before reading and counted while reading (a chunked body has no length).

    Gzip is decided by the body's magic bytes, never by the Content-Encoding header: Snowflake
    gzips batches on AWS (COMPRESSION = AUTO, "CREATE EXTERNAL FUNCTION"), and API Gateway may
    inflate a payload yet forward the header (AWS "Payload compression for REST APIs"). JSON
    never starts with 0x1f."""
    too_large = f"request body is larger than {limit} bytes"
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BatchError(BAD_CONTENT_LENGTH, "Content-Length is not a byte count")
        if len(declared) > len(str(limit)) or int(declared) > limit:
            raise BatchError(BODY_TOO_LARGE, too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BatchError(BODY_TOO_LARGE, too_large)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.startswith(GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        inflated = inflater.decompress(body, limit)
    except zlib.error as error:
        raise BatchError(BAD_GZIP, f"request body is not valid gzip: {error}") from None
    if not inflater.eof:
        if inflater.unconsumed_tail or len(inflated) >= limit:
            raise BatchError(BODY_TOO_LARGE, f"request body inflates to more than {limit} bytes")
        raise BatchError(BAD_GZIP, "request body is a truncated gzip stream")
    return inflated


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})
