"""Snowpark procedure handlers: the functions Snowflake calls, each taking a Session.

Each handler is thin: read with SQL, call a pure core, write with a MERGE, return a summary.
The `*_with` variants take the outside systems as arguments; the local runner passes its
loopback counterparts, the Snowflake entry points pass the production ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any, TypeVar

from snowflake.snowpark import Session

from snowpark_procs import metadata
from snowpark_procs.byte_sources import ByteSource, SourceFileError, StageFileByteSource
from snowpark_procs.records import MetadataFailure
from snowpark_procs.rendering import RenderRequest, ThumbnailRenderer, thumbnail_rows
from snowpark_procs.sql import read_sql

DESIGNS_STAGE = "raw.designs_stage"
THUMBNAIL_SIZES = (1024, 256)
# Rows per MERGE: one JSON bind per batch keeps round trips few and binds small.
MERGE_BATCH_ROWS = 500
RENDER_BATCH_ROWS = 16

T = TypeVar("T")


@dataclass(frozen=True)
class StepSummary:
    files_in: int
    files_succeeded: int
    files_failed: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class StepError(Exception):
    """The step as a whole failed (its files stay pending for a retry or the next run)."""


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _merge_batches(session: Session, sql_name: str, rows: Sequence[dict[str, Any]]) -> None:
    for batch in _batched(rows, MERGE_BATCH_ROWS):
        session.sql(read_sql(sql_name), params=[json.dumps(batch, default=str)]).collect()


# --- discover ---------------------------------------------------------------------------


def discover(session: Session, run_id: str) -> str:
    """Procedure DISCOVER(run_id): record the change set since the last successful run."""
    session.sql(read_sql("discover_file_changes"), params=[run_id]).collect()
    counts = {
        row["CHANGE_TYPE"]: int(row["FILES"])
        for row in session.sql(read_sql("count_file_changes"), params=[run_id]).collect()
    }
    total = sum(counts.values())
    return StepSummary(total, total, 0, {"changes": counts}).to_json()


# --- extract_metadata -------------------------------------------------------------------


def extract_metadata(session: Session, run_id: str) -> str:
    """Procedure EXTRACT_METADATA(run_id): reads the run's files from the designs stage."""
    return extract_metadata_with(session, run_id, StageFileByteSource(DESIGNS_STAGE)).to_json()


def _metadata_row(source: ByteSource, relative_path: str, etag: str, run_id: str) -> dict[str, Any]:
    try:
        with source.open(relative_path, etag) as stream:
            result = metadata.extract_metadata(stream, relative_path)
    except SourceFileError as error:
        result = MetadataFailure(error.reason_code, error.message)
    key = {"relative_path": relative_path, "etag": etag, "run_id": run_id}
    if isinstance(result, MetadataFailure):
        return {
            **key,
            "status": "failed",
            "reason_code": result.reason_code,
            "error_message": result.message,
            "format": result.format,
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
        }
    return {**key, "status": "ok", **asdict(result)}


def extract_metadata_with(
    session: Session, run_id: str, source: ByteSource, workers: int = 4
) -> StepSummary:
    """Extract every pending file version of the run; failures become rows, not exceptions."""
    pending = session.sql(read_sql("select_files_to_extract"), params=[run_id]).collect()
    succeeded = failed = 0
    reasons: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in _batched(pending, MERGE_BATCH_ROWS):
            rows = list(
                pool.map(
                    lambda row: _metadata_row(source, row["RELATIVE_PATH"], row["ETAG"], run_id),
                    batch,
                )
            )
            _merge_batches(session, "merge_file_metadata", rows)
            for row in rows:
                if row["status"] == "ok":
                    succeeded += 1
                else:
                    failed += 1
                    reasons[row["reason_code"]] = reasons.get(row["reason_code"], 0) + 1
    return StepSummary(len(pending), succeeded, failed, {"failures_by_reason": reasons})


# --- render_thumbnails ------------------------------------------------------------------


class ExternalFunctionRenderer:
    """Calls the renderer through Snowflake's external function raw.render_thumbnail."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        batch = json.dumps([asdict(request) for request in requests])
        rows = self._session.sql(read_sql("call_render_function"), params=[batch]).collect()
        return [json.loads(row["RENDER_RESULT"]) for row in rows]


def render_thumbnails(session: Session, run_id: str) -> str:
    """Procedure RENDER_THUMBNAILS(run_id): renders through the external function."""
    return render_thumbnails_with(session, run_id, ExternalFunctionRenderer(session)).to_json()


def render_thumbnails_with(
    session: Session,
    run_id: str,
    renderer: ThumbnailRenderer,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    batch_rows: int = RENDER_BATCH_ROWS,
) -> StepSummary:
    """Render the run's readable files lacking thumbnails; merge one row per file and size.

    Files whose rendering failed for a transient reason stay pending and fail the step, so a
    retry (or the next run, since discovery state does not advance) renders them.
    """
    pending = [
        RenderRequest(row["RELATIVE_PATH"], row["ETAG"], row["SHA256"], int(row["SIZE_BYTES"]))
        for row in session.sql(
            read_sql("select_files_to_render"), params=[run_id, len(sizes)]
        ).collect()
    ]
    succeeded = failed = 0
    deferred: list[str] = []
    for batch in _batched(pending, batch_rows):
        outcome = thumbnail_rows(batch, renderer.render(batch), sizes, run_id)
        _merge_batches(session, "merge_thumbnails", outcome.thumbnail_rows)
        succeeded += outcome.files_succeeded
        failed += outcome.files_failed
        deferred.extend(outcome.deferred_reasons)
    if deferred:
        raise StepError(
            f"{len(deferred)} of {len(pending)} files could not be rendered for a transient "
            f"reason (first: {deferred[0]})"
        )
    return StepSummary(len(pending), succeeded, failed)


# --- finalizer --------------------------------------------------------------------------


def commit_discovery(session: Session, run_id: str) -> str:
    """Procedure COMMIT_DISCOVERY(run_id): advance the directory state by a successful run."""
    session.sql(read_sql("commit_directory_state"), params=[run_id]).collect()
    return StepSummary(0, 0, 0).to_json()
