"""Snowpark procedure handlers: the functions Snowflake calls, each taking a Session.

Each handler is thin: read with SQL, call a pure core, write with a MERGE, return a summary.
The `*_with` variants take the outside systems as arguments; the local runner passes its
loopback counterparts, the Snowflake entry points pass the production ones. `config_json` is the
task graph's CONFIG (incremental, backfill or reconcile; see run_config.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any, TypeVar

from snowflake.snowpark import Session

from snowpark_procs import metadata, reason_codes
from snowpark_procs.byte_sources import ByteSource, SourceFileError, StageFileByteSource
from snowpark_procs.records import MetadataFailure
from snowpark_procs.rendering import RenderRequest, ThumbnailRenderer, thumbnail_rows
from snowpark_procs.run_config import RunConfig
from snowpark_procs.sql import read_sql
from snowpark_procs.transient import is_transient

DESIGNS_STAGE = "raw.designs_stage"
THUMBNAIL_SIZES = (1024, 256)
# Rows per MERGE: one JSON bind per batch keeps round trips few and binds small.
MERGE_BATCH_ROWS = 500
RENDER_BATCH_ROWS = 16
# A file whose read or render fails for a transient reason is retried by later runs, up to
# this many attempts in all; then it is quarantined (retries_exhausted).
MAX_FILE_ATTEMPTS = 3

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


def _is_outage(transient: int, attempted: int) -> bool:
    """Many files failing transiently at once means a service is down, not that they are bad:
    then the step fails (and counts no attempt) instead of recording a retry per file."""
    return transient > max(3, attempted // 5)


@dataclass(frozen=True)
class _Retry:
    relative_path: str
    etag: str
    reason_code: str
    message: str


def _record_retries(
    session: Session, step: str, run_id: str, retries: Sequence[_Retry]
) -> list[dict[str, Any]]:
    """Count an attempt for each retry; returns the versions whose attempts ran out."""
    _merge_batches(
        session,
        "record_file_retries",
        [
            {
                "relative_path": r.relative_path,
                "etag": r.etag,
                "step": step,
                "run_id": run_id,
                "reason_code": r.reason_code,
                "error_message": r.message[:2000],
            }
            for r in retries
        ],
    )
    exhausted = session.sql(
        read_sql("select_exhausted_retries"), params=[step, MAX_FILE_ATTEMPTS]
    ).collect()
    return [row.as_dict() for row in exhausted]


def _clear_retries(session: Session, step: str, keys: Iterable[tuple[str, str]]) -> None:
    rows = [{"relative_path": path, "etag": etag, "step": step} for path, etag in keys]
    if rows:
        _merge_batches(session, "clear_file_retries", rows)


def _exhausted_message(row: dict[str, Any]) -> str:
    return (
        f"gave up after {row['ATTEMPTS']} attempts; last: "
        f"{row['REASON_CODE']}: {row['ERROR_MESSAGE']}"
    )


# --- discover ---------------------------------------------------------------------------


def discover(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure DISCOVER(run_id, config): record the run's change set.

    Incremental and reconcile runs: every difference between the directory table and the
    state of the last successful run. Backfills: every file last modified in their window.
    """
    config = RunConfig.from_json(config_json)
    if config.mode == "backfill":
        session.sql(
            read_sql("discover_backfill_files"),
            params=[run_id, str(config.window_start), str(config.window_end)],
        ).collect()
    else:
        session.sql(read_sql("discover_file_changes"), params=[run_id]).collect()
    checks = _reconcile(session, run_id) if config.mode == "reconcile" else {}
    counts = _count_changes(session, run_id)
    total = sum(counts.values())
    details: dict[str, Any] = {"changes": counts, "mode": config.mode}
    if checks:
        details["reconciliation"] = checks
    return StepSummary(total, total, 0, details).to_json()


def _count_changes(session: Session, run_id: str) -> dict[str, int]:
    return {
        row["CHANGE_TYPE"]: int(row["FILES"])
        for row in session.sql(read_sql("count_file_changes"), params=[run_id]).collect()
    }


def _reconcile(session: Session, run_id: str) -> dict[str, int]:
    """The nightly full comparison, set-based: what incremental runs missed is added to the
    run's change set (the normal steps repair it) and every count is kept in OPS."""
    diff = _count_changes(session, run_id)
    lost = session.sql(read_sql("reconcile_forget_lost_thumbnails")).collect()
    session.sql(read_sql("discover_repairs"), params=[len(THUMBNAIL_SIZES), run_id]).collect()
    orphans = session.sql(read_sql("count_orphaned_thumbnails")).collect()[0]["FILES"]
    checks = {
        "changed_without_event": sum(diff.values()),
        "thumbnail_objects_lost": int(lost[0][0]) if lost else 0,
        "unfinished_files_repaired": _count_changes(session, run_id).get("repair", 0),
        "orphaned_thumbnail_objects": int(orphans),
    }
    _merge_batches(
        session,
        "merge_reconciliation_checks",
        [{"run_id": run_id, "check_name": name, "files": files} for name, files in checks.items()],
    )
    return checks


# --- extract_metadata -------------------------------------------------------------------


def extract_metadata(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure EXTRACT_METADATA(run_id, config): reads the files from the designs stage."""
    source = StageFileByteSource(DESIGNS_STAGE)
    config = RunConfig.from_json(config_json)
    return extract_metadata_with(session, run_id, source, config).to_json()


def _extract_one(
    source: ByteSource, relative_path: str, etag: str, run_id: str
) -> dict[str, Any] | _Retry:
    try:
        with source.open(relative_path, etag) as stream:
            result = metadata.extract_metadata(stream, relative_path)
    except SourceFileError as error:
        result = MetadataFailure(error.reason_code, error.message)
    except Exception as error:
        if not is_transient(error):
            raise
        return _Retry(relative_path, etag, type(error).__name__, str(error))
    return _metadata_row(relative_path, etag, run_id, result)


def _metadata_row(relative_path: str, etag: str, run_id: str, result: Any) -> dict[str, Any]:
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
    session: Session,
    run_id: str,
    source: ByteSource,
    config: RunConfig | None = None,
    workers: int = 4,
) -> StepSummary:
    """Extract every pending file version of the run; failures become rows, not exceptions."""
    config = config or RunConfig()
    pending = session.sql(
        read_sql("select_files_to_extract"), params=[run_id, config.reprocess]
    ).collect()
    succeeded = failed = retrying = 0
    reasons: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in _batched(pending, MERGE_BATCH_ROWS):
            outcomes = list(
                pool.map(
                    lambda row: _extract_one(source, row["RELATIVE_PATH"], row["ETAG"], run_id),
                    batch,
                )
            )
            rows = [o for o in outcomes if isinstance(o, dict)]
            retries = [o for o in outcomes if isinstance(o, _Retry)]
            if _is_outage(len(retries), len(outcomes)):
                raise StepError(
                    f"{len(retries)} of {len(outcomes)} files could not be read "
                    f"(first: {retries[0].relative_path}: {retries[0].message})"
                )
            exhausted = _exhausted(session, "extract_metadata", run_id, retries)
            rows.extend(
                _metadata_row(
                    row["RELATIVE_PATH"],
                    row["ETAG"],
                    run_id,
                    MetadataFailure(reason_codes.RETRIES_EXHAUSTED, _exhausted_message(row)),
                )
                for row in exhausted
            )
            _merge_batches(session, "merge_file_metadata", rows)
            _clear_retries(
                session, "extract_metadata", ((r["relative_path"], r["etag"]) for r in rows)
            )
            retrying += len(retries) - len(exhausted)
            for row in rows:
                if row["status"] == "ok":
                    succeeded += 1
                else:
                    failed += 1
                    reasons[row["reason_code"]] = reasons.get(row["reason_code"], 0) + 1
    return StepSummary(
        len(pending),
        succeeded,
        failed,
        {"failures_by_reason": reasons, "retrying": retrying},
    )


def _exhausted(
    session: Session, step: str, run_id: str, retries: Sequence[_Retry]
) -> list[dict[str, Any]]:
    return _record_retries(session, step, run_id, retries) if retries else []


# --- render_thumbnails ------------------------------------------------------------------


class ExternalFunctionRenderer:
    """Calls the renderer through Snowflake's external function raw.render_thumbnail."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        batch = json.dumps([asdict(request) for request in requests])
        rows = self._session.sql(read_sql("call_render_function"), params=[batch]).collect()
        return [json.loads(row["RENDER_RESULT"]) for row in rows]


def render_thumbnails(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure RENDER_THUMBNAILS(run_id, config): renders through the external function."""
    renderer = ExternalFunctionRenderer(session)
    config = RunConfig.from_json(config_json)
    return render_thumbnails_with(session, run_id, renderer, config).to_json()


def render_thumbnails_with(
    session: Session,
    run_id: str,
    renderer: ThumbnailRenderer,
    config: RunConfig | None = None,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    batch_rows: int = RENDER_BATCH_ROWS,
) -> StepSummary:
    """Render the run's readable files lacking thumbnails; merge one row per file and size.

    A file whose rendering failed for a transient reason is retried by later runs; when most
    of a batch fails that way the renderer or its storage is down and the step fails.
    """
    config = config or RunConfig()
    pending = [
        RenderRequest(row["RELATIVE_PATH"], row["ETAG"], row["SHA256"], int(row["SIZE_BYTES"]))
        for row in session.sql(
            read_sql("select_files_to_render"), params=[run_id, len(sizes), config.reprocess]
        ).collect()
    ]
    succeeded = failed = retrying = 0
    for batch in _batched(pending, batch_rows):
        outcome = thumbnail_rows(batch, renderer.render(batch), sizes, run_id)
        if _is_outage(outcome.files_deferred, len(batch)):
            raise StepError(
                f"{outcome.files_deferred} of {len(batch)} files could not be rendered for a "
                f"transient reason (first: {outcome.deferred_reasons[0]})"
            )
        rows = list(outcome.thumbnail_rows)
        retries = [
            _Retry(request.relative_path, request.etag, reason, message)
            for request, reason, message in outcome.deferred
        ]
        exhausted = _exhausted(session, "render_thumbnails", run_id, retries)
        for row in exhausted:
            rows.extend(
                {
                    "relative_path": row["RELATIVE_PATH"],
                    "etag": row["ETAG"],
                    "run_id": run_id,
                    "size_px": size,
                    "status": "failed",
                    "reason_code": reason_codes.RETRIES_EXHAUSTED,
                    "error_message": _exhausted_message(row),
                }
                for size in sizes
            )
        _merge_batches(session, "merge_thumbnails", rows)
        _clear_retries(
            session, "render_thumbnails", {(r["relative_path"], r["etag"]) for r in rows}
        )
        succeeded += outcome.files_succeeded
        failed += outcome.files_failed + len(exhausted)
        retrying += len(retries) - len(exhausted)
    return StepSummary(len(pending), succeeded, failed, {"retrying": max(retrying, 0)})


# --- finalizer --------------------------------------------------------------------------


def commit_discovery(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure COMMIT_DISCOVERY(run_id, config): advance the directory state by a successful
    run's change set. A backfill leaves the scheduled runs' state where it is."""
    config = RunConfig.from_json(config_json)
    if config.advances_discovery_state:
        session.sql(read_sql("commit_directory_state"), params=[run_id]).collect()
    return StepSummary(0, 0, 0, {"committed": config.advances_discovery_state}).to_json()
