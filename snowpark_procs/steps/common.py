"""What every step shares: the session seam, summaries and step errors, batched MERGEs and the
per-file transient retries (raw.file_retries)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol, TypeVar

from pixelforge_core.write_batch import json_binds
from snowpark_procs.sql import read_sql

# Pending file versions fetched per statement: a page holds more than a budget's worth, so a
# run normally reads one (and never holds an 8M-file backlog in memory).
PENDING_PAGE_ROWS = 20_000
# A file whose read or render fails for a transient reason is retried by later runs, up to
# this many attempts in all; then it is quarantined (retries_exhausted).
MAX_FILE_ATTEMPTS = 3
# SYSTEM$SET_RETURN_VALUE keeps at most 10 kB ("SYSTEM$SET_RETURN_VALUE",
# https://docs.snowflake.com/en/sql-reference/functions/system_set_return_value).
MAX_RETURN_VALUE_BYTES = 10_000

T = TypeVar("T")
Clock = Callable[[], float]


class SqlSession(Protocol):
    """The one seam to Snowflake the steps use: a Snowpark Session in a procedure and in the
    local runner (over fakesnow), or a recording stand-in in the offline checks."""

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """A statement whose .collect() runs it and returns its rows."""
        ...


@dataclass(frozen=True)
class StepSummary:
    files_in: int
    files_succeeded: int
    files_failed: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> StepSummary:
        raw = json.loads(text)
        return cls(
            int(raw["files_in"]),
            int(raw["files_succeeded"]),
            int(raw["files_failed"]),
            dict(raw.get("details") or {}),
        )


class StepError(Exception):
    """The step as a whole failed (its files stay pending for a retry or the next run).

    Its message becomes the task's ERROR_MESSAGE, which the root's ERROR_INTEGRATION sends to
    SNS and so possibly out of AWS by email: counts and reason codes only, never a file path
    (the paths are in OPS and RAW tables)."""


def tally(reasons: Iterable[str]) -> str:
    """`reason x count` for each reason, most frequent first: an error message without paths."""
    return ", ".join(f"{reason} x{count}" for reason, count in Counter(reasons).most_common())


# Details a summary keeps when the whole would not fit in a task's return value.
ESSENTIAL_DETAILS = ("backlog", "mode", "request_id", "committed", "state", "changes")


def task_summary(summary: StepSummary) -> str:
    """What a procedure returns, and its task sets as RETURN_VALUE: the summary's JSON, within
    SYSTEM$SET_RETURN_VALUE's 10 kB (past it, the counts and essential details only)."""
    text = summary.to_json()
    if len(text.encode("utf-8")) <= MAX_RETURN_VALUE_BYTES:
        return text
    kept = {k: summary.details[k] for k in ESSENTIAL_DETAILS if k in summary.details}
    return StepSummary(
        summary.files_in,
        summary.files_succeeded,
        summary.files_failed,
        {**kept, "details_truncated": True},
    ).to_json()


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def merge_batches(session: SqlSession, sql_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """The rows through the statement `sql_name`, in as few JSON binds as fit (one statement
    each: pixelforge_core/write_batch.py)."""
    for bind, _ in json_binds(rows):
        session.sql(read_sql(sql_name), params=[bind]).collect()


def is_outage(transient: int, attempted: int) -> bool:
    """Many files failing transiently at once means a service is down, not that they are bad:
    then the step fails (and counts no attempt) instead of recording a retry per file."""
    return transient > max(3, attempted // 5)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Retry:
    relative_path: str
    etag: str
    reason_code: str
    message: str


def record_retries(
    session: SqlSession, step: str, run_id: str, retries: Sequence[Retry]
) -> list[dict[str, Any]]:
    """Count an attempt for each retry; returns the versions whose attempts ran out."""
    merge_batches(
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


def clear_retries(session: SqlSession, step: str, keys: Iterable[tuple[str, str]]) -> None:
    """The step settled these file versions (their outcome is merged): forget their retries,
    and mark the re-processings waiting for this step on them as redone (their outputs are
    merged only where a value differs, so the outputs cannot tell)."""
    rows = [{"relative_path": path, "etag": etag, "step": step} for path, etag in keys]
    if rows:
        merge_batches(session, "clear_file_retries", rows)
        merge_batches(session, "mark_redone_files", rows)


def exhausted_message(row: dict[str, Any]) -> str:
    return (
        f"gave up after {row['ATTEMPTS']} attempts; last: "
        f"{row['REASON_CODE']}: {row['ERROR_MESSAGE']}"
    )


def exhausted_retries(
    session: SqlSession, step: str, run_id: str, retries: Sequence[Retry]
) -> list[dict[str, Any]]:
    """record_retries when there are any; the versions whose attempts ran out."""
    return record_retries(session, step, run_id, retries) if retries else []
