"""Snowpark procedure handlers: the functions Snowflake calls, each taking a Session.

Each handler is thin: read with SQL, call a pure core, write with a MERGE, return a summary.
The `*_with` variants take the outside systems as arguments; the local runner passes its
loopback counterparts, the Snowflake entry points pass the production ones. `config_json` is the
task graph's CONFIG (run_config.py); which mode a run serves (incremental, or the backfill or
reconciliation request its discover step claimed from ops.run_requests) is looked up by run id.

Bounded runs. USER_TASK_TIMEOUT_MS limits each step task's run, a timeout is a failed run, and
SUSPEND_TASK_AFTER_NUM_FAILURES consecutive failed runs suspend the root ("CREATE TASK",
https://docs.snowflake.com/en/sql-reference/sql/create-task). So extraction and rendering take
new batches only while their budget (CONFIG `step_budget_s`, a fraction of the step timeout set
in orchestration/graph.py) lasts, finish the batch in flight, merge it and succeed, reporting
what is left (`details["backlog"]`).

What a later run picks up (one set-based statement per page, select_files_to_*.sql): the
finalizer still advances the discovery state by a successful run's whole change set, done or
not. The pending set is then every version of a committed change set without its result (a
directory_state row the designs directory still lists at that ETag, without a metadata row, or
without a thumbnail row for every size), the windows of finished backfills not yet redone (a
backfill's version is redone once its row was written after the backfill discovered it), and the
transient retries. Nothing is redone (a version with its row is not pending) and nothing is
skipped (a version leaves the set only when its row is written). New uploads are not starved
behind the backlog: each run takes its own change set first, then the backlog oldest upload
first. A deleted or overwritten version leaves the set: the directory no longer lists it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol, TypeVar

from snowflake.snowpark import Session

from pixelforge_core import reason_codes
from pixelforge_core.records import MetadataFailure
from pixelforge_core.render_wire import THUMBNAIL_SIZES, RenderRequest
from pixelforge_core.transient import is_transient
from snowpark_procs import metadata
from snowpark_procs.byte_sources import ByteSource, SourceFileError, StageFileByteSource
from snowpark_procs.rendering import ThumbnailRenderer, thumbnail_rows
from snowpark_procs.run_config import RunConfig, RunConfigError
from snowpark_procs.sql import read_sql

DESIGNS_STAGE = "raw.designs_stage"
# Rows per MERGE: one JSON bind per batch keeps round trips few and binds small.
MERGE_BATCH_ROWS = 500
RENDER_BATCH_ROWS = 16
# Pending file versions fetched per statement: a page holds more than a budget's worth, so a
# run normally reads one (and never holds an 8M-file backlog in memory).
PENDING_PAGE_ROWS = 20_000
# A file whose read or render fails for a transient reason is retried by later runs, up to
# this many attempts in all; then it is quarantined (retries_exhausted).
MAX_FILE_ATTEMPTS = 3
# Extraction: seconds a file may parse (from when a worker starts it) before the watchdog ends
# the step; well inside the step's timeout, past its budget (the batch in flight may run over).
PARSE_LIMIT_S = 120.0
# Extraction: the retry reason of an attempt charged before parsing and not yet settled by an
# outcome (raw.file_retries only: a file quarantined for it ends retries_exhausted).
EXTRACTION_INCOMPLETE = "extraction_incomplete"
# A backfill or reconciliation request is served by up to this many runs; when all of them
# fail it is FAILED (a poison request must not fail every run until the root suspends).
MAX_REQUEST_ATTEMPTS = 3
# SYSTEM$SET_RETURN_VALUE keeps at most 10 kB ("SYSTEM$SET_RETURN_VALUE",
# https://docs.snowflake.com/en/sql-reference/functions/system_set_return_value).
MAX_RETURN_VALUE_BYTES = 10_000

T = TypeVar("T")
Clock = Callable[[], float]


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


def _tally(reasons: Iterable[str]) -> str:
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


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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


# --- bounded steps ----------------------------------------------------------------------


@dataclass
class Budget:
    """A step's time for new batches, measured with the clock seam (time.monotonic by
    default; tests scale time through it). None: no limit."""

    seconds: float | None
    clock: Clock = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def spent(self) -> bool:
        return self.seconds is not None and self.clock() - self.started >= self.seconds


@dataclass(frozen=True)
class Drained:
    """What a bounded step took from the pending set."""

    attempted: int  # file versions handed to the step this run
    backlog: int  # pending file versions left for later runs
    stopped_by_budget: bool

    def details(self, budget_s: float | None) -> dict[str, Any]:
        return {
            "backlog": self.backlog,
            "stopped_by_budget": self.stopped_by_budget,
            "budget_s": budget_s,
        }


def drain(
    fetch_page: Callable[[], tuple[list[T], int]],
    process: Callable[[list[T]], None],
    batch_rows: int,
    page_rows: int,
    budget: Budget,
    stop: Callable[[], bool] = lambda: False,
) -> Drained:
    """Process pending items batch by batch until none is left or the budget is spent.

    `fetch_page` returns up to `page_rows` items, most urgent first, and how many are pending
    in all; items processed (or deferred) this run never come back in a later page. The batch
    in flight when the budget runs out is finished; at least one batch is taken per run.
    `stop` ends it the same way (no new batch) when it turns true.
    """
    attempted = 0
    while True:
        page, pending = fetch_page()
        taken = 0
        for batch in _batched(page, batch_rows):
            if (attempted or taken) and (stop() or budget.spent()):
                return Drained(attempted + taken, pending - taken, budget.spent())
            process(batch)
            taken += len(batch)
        attempted += taken
        if len(page) < page_rows or taken >= pending:
            return Drained(attempted, max(pending - taken, 0), stopped_by_budget=False)


def _pending_page(
    session: Session, sql_name: str, params: list[Any]
) -> tuple[list[dict[str, Any]], int]:
    rows = [row.as_dict() for row in session.sql(read_sql(sql_name), params=params).collect()]
    return rows, int(rows[0]["PENDING_FILES"]) if rows else 0


# --- run requests -----------------------------------------------------------------------


def request_run(session: Session, config: RunConfig, request_id: str) -> str:
    """Queue a backfill or reconciliation (what OPS.BACKFILL and the nightly task insert)."""
    if config.mode == "incremental":
        raise RunConfigError("an incremental run needs no request: every scheduled run is one")
    window = [
        None if t is None else t.isoformat(sep=" ")
        for t in (config.window_start, config.window_end)
    ]
    session.sql(read_sql("insert_run_request"), params=[request_id, config.mode, *window]).collect()
    return request_id


def claim_run_request(session: Session, run_id: str, graph: RunConfig) -> RunConfig:
    """The config this run serves: the oldest pending request, claimed for this run (a retried
    discover keeps its claim), or the graph's incremental config when none is pending."""
    session.sql(read_sql("abandon_run_requests"), params=[run_id, MAX_REQUEST_ATTEMPTS]).collect()
    refused: set[str] = set()
    while True:
        session.sql(read_sql("claim_run_request"), params=[run_id, MAX_REQUEST_ATTEMPTS]).collect()
        row = _claimed_request(session, run_id)
        if row is None:
            return graph
        try:
            return graph.serving(RunConfig.from_request(row))
        except RunConfigError as error:
            if row["REQUEST_ID"] in refused:
                raise StepError(
                    f"request {row['REQUEST_ID']} was refused but claimed again"
                ) from error
            refused.add(row["REQUEST_ID"])
            message = f"run {run_id} refused it: {error}"[:2000]
            session.sql(
                read_sql("reject_run_request"), params=[message, row["REQUEST_ID"]]
            ).collect()


def run_config_for(session: Session, run_id: str, graph: RunConfig) -> RunConfig:
    """The config of a run whose discover step has claimed (or not) a request."""
    row = _claimed_request(session, run_id)
    return graph if row is None else graph.serving(RunConfig.from_request(row))


def _claimed_request(session: Session, run_id: str) -> dict[str, Any] | None:
    rows = session.sql(read_sql("select_run_request"), params=[run_id]).collect()
    return rows[0].as_dict() if rows else None


# --- discover ---------------------------------------------------------------------------


def discover(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure DISCOVER(run_id, config): claim the run's request, record its change set."""
    config = claim_run_request(session, run_id, RunConfig.from_json(config_json))
    return task_summary(discover_with(session, run_id, config))


def discover_with(session: Session, run_id: str, config: RunConfig) -> StepSummary:
    """Record the run's change set.

    Incremental and reconcile runs: every difference between the directory table and the
    state of the last successful run. Backfills: every file last modified in their window.
    """
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
    details: dict[str, Any] = {
        "changes": counts,
        "mode": config.mode,
        "request_id": config.request_id,
    }
    if checks:
        details["reconciliation"] = checks
    return StepSummary(total, total, 0, details)


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
    config = run_config_for(session, run_id, RunConfig.from_json(config_json))
    return task_summary(extract_metadata_with(session, run_id, source, config))


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


@dataclass(frozen=True)
class _Pending:
    """A pending file version and its retry state before this run (attempts 0: none)."""

    relative_path: str
    etag: str
    attempts: int = 0
    reason_code: str | None = None
    error_message: str | None = None
    retry_run_id: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> _Pending:
        return cls(
            row["RELATIVE_PATH"],
            row["ETAG"],
            int(row.get("RETRY_ATTEMPTS") or 0),
            row.get("RETRY_REASON_CODE"),
            row.get("RETRY_ERROR_MESSAGE"),
            row.get("RETRY_RUN_ID"),
        )

    @property
    def key(self) -> tuple[str, str]:
        return self.relative_path, self.etag

    @property
    def suspect(self) -> bool:
        """An earlier run charged an attempt before parsing it and recorded no outcome."""
        return self.reason_code == EXTRACTION_INCOMPLETE

    def retry_row(self, attempts: int, reason_code: str, message: str, run_id: str) -> dict:
        return {
            "relative_path": self.relative_path,
            "etag": self.etag,
            "step": "extract_metadata",
            "attempts": attempts,
            "reason_code": reason_code,
            "error_message": message[:2000],
            "run_id": run_id,
        }

    def before_charge(self) -> dict[str, Any]:
        """Its retry row as it was before this run charged it (attempts 0: no row)."""
        return self.retry_row(
            self.attempts,
            self.reason_code or "",
            self.error_message or "",
            self.retry_run_id or "",
        )


@dataclass
class _Parsed:
    """What the pool made of a batch: outcomes of the files that finished, the files it never
    started (the watchdog stopped it first) and the files still parsing past the limit."""

    outcomes: dict[tuple[str, str], dict[str, Any] | _Retry] = field(default_factory=dict)
    unstarted: list[_Pending] = field(default_factory=list)
    hung: list[_Pending] = field(default_factory=list)


def _parse_watched(
    pool: ThreadPoolExecutor,
    source: ByteSource,
    files: Sequence[_Pending],
    run_id: str,
    limit_s: float,
) -> _Parsed:
    """Parse `files` on the pool while the calling thread watches each file's time.

    A file still parsing `limit_s` after a worker started it is overdue: no further file of the
    batch is started (the ones not started are cancelled), the others already running get their
    own `limit_s`, and then this returns with the overdue files in `hung`. Their threads cannot
    be killed (Python has no way to stop a thread, and a procedure cannot use a child process):
    they keep running, their results are dropped. An exception a parse raises (a step failure,
    or a BaseException standing for the process dying) propagates after the batch's other files
    are cancelled; nothing is recorded here, so the charge made before parsing stays.
    """
    started: dict[int, float] = {}

    def parse(index: int, file: _Pending) -> dict[str, Any] | _Retry:
        started[index] = time.monotonic()
        return _extract_one(source, file.relative_path, file.etag, run_id)

    futures = {pool.submit(parse, i, file): i for i, file in enumerate(files)}
    parsed = _Parsed()
    not_done = set(futures)
    stopping = False
    try:
        while not_done:
            now = time.monotonic()
            overdue = {
                f
                for f in not_done
                if futures[f] in started and now - started[futures[f]] >= limit_s
            }
            if overdue and not stopping:
                stopping = True
                for future in not_done - overdue:
                    future.cancel()  # only the ones no worker has started
                cancelled = {f for f in not_done if f.cancelled()}
                parsed.unstarted.extend(files[futures[f]] for f in cancelled)
                not_done -= cancelled
            watched = not_done - overdue
            if not watched:
                break
            deadlines = [started[futures[f]] + limit_s for f in watched if futures[f] in started]
            timeout = max(min(deadlines) - now, 0.0) if deadlines else limit_s
            done, _ = wait(watched, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                parsed.outcomes[files[futures[future]].key] = future.result()
                not_done.discard(future)
    except BaseException:
        for future in not_done:
            future.cancel()
        raise
    for future in not_done:  # overdue; one may have finished meanwhile
        if future.done():
            parsed.outcomes[files[futures[future]].key] = future.result()
        else:
            parsed.hung.append(files[futures[future]])
    return parsed


def extract_metadata_with(
    session: Session,
    run_id: str,
    source: ByteSource,
    config: RunConfig | None = None,
    workers: int = 4,
    clock: Clock = time.monotonic,
    page_rows: int = PENDING_PAGE_ROWS,
    parse_limit_s: float | None = None,
) -> StepSummary:
    """Extract the pending file versions, the run's own first, while the budget lasts
    (config.step_budget_s); failures become rows, not exceptions.

    Untrusted files and the procedure's process. A file that crashes the parser's process or
    hangs it must not take the step down on every run (each a failed run, until
    SUSPEND_TASK_AFTER_NUM_FAILURES suspends the graph). A procedure cannot isolate a parse in
    a child process (Snowflake's Python procedure limitations) and a thread cannot be killed,
    so this is bookkeeping, not killing:

    - Charged before parsing: each batch's files are charged one attempt in raw.file_retries
      (reason EXTRACTION_INCOMPLETE) in one MERGE before any is parsed. An outcome settles the
      charge: a finished file (ok, or failed with its reason) has it cleared, a transient
      failure keeps it as its attempt (counted once), an outage or a step failure (an
      exception: the process is alive to say so) gives it back. A process that dies while
      parsing leaves the charge: the versions of that batch become suspects.
    - Suspects alone and last: a pending version with an unsettled charge is parsed in a batch
      of one, charged again before, after every other pending version (the fewest attempts
      first). A poisoned file takes the innocent files of its batch down once; then it dies
      alone. Once its attempts reach MAX_FILE_ATTEMPTS it is quarantined (retries_exhausted,
      with the last reason) without being parsed again.
    - Watchdog: the main thread gives each file `parse_limit_s` (PARSE_LIMIT_S by default,
      well inside the step timeout) from when a worker starts it. Past it the step takes no
      new work, merges what finished, gives back the files it never started, and returns
      (details["watchdog_stopped"]); the overdue file keeps its charge and is a suspect next
      run. Its thread keeps running until the procedure's process ends: if the parse holds the
      GIL the watchdog itself cannot run, and then USER_TASK_TIMEOUT_MS ends the step; either
      way the charge was written before the parse, so the file is caught all the same.
    """
    config = config or RunConfig()
    limit_s = PARSE_LIMIT_S if parse_limit_s is None else parse_limit_s
    budget = Budget(config.step_budget_s, clock)
    succeeded = failed = retrying = suspects = 0
    hung: list[_Pending] = []
    reasons: dict[str, int] = {}

    def count(rows: Sequence[dict[str, Any]]) -> None:
        nonlocal succeeded, failed
        for row in rows:
            if row["status"] == "ok":
                succeeded += 1
            else:
                failed += 1
                reasons[row["reason_code"]] = reasons.get(row["reason_code"], 0) + 1

    def charge(files: Sequence[_Pending]) -> None:
        message = "extraction started, no outcome recorded: the run ended while parsing it" + (
            " alone" if len(files) == 1 else f" or one of the {len(files)} files of its batch"
        )
        _merge_batches(
            session,
            "record_file_retries",
            [f.retry_row(0, EXTRACTION_INCOMPLETE, message, run_id) for f in files],
        )

    def quarantine(files: Sequence[_Pending]) -> None:
        rows = [
            _metadata_row(
                f.relative_path,
                f.etag,
                run_id,
                MetadataFailure(
                    reason_codes.RETRIES_EXHAUSTED,
                    _exhausted_message(
                        {
                            "ATTEMPTS": f.attempts,
                            "REASON_CODE": f.reason_code,
                            "ERROR_MESSAGE": f.error_message,
                        }
                    ),
                ),
            )
            for f in files
        ]
        _merge_batches(session, "merge_file_metadata", rows)
        _clear_retries(session, "extract_metadata", (f.key for f in files))
        count(rows)

    def settle(files: Sequence[_Pending]) -> None:
        nonlocal retrying
        charge(files)
        try:
            parsed = _parse_watched(pool, source, files, run_id, limit_s)
        except Exception:
            # A step failure (the source's contract: anything but SourceFileError), not a
            # file's: the process lives, so the charges are given back, as before them.
            # A process that dies (a BaseException here) records nothing: they stay.
            _merge_batches(session, "set_file_retries", [f.before_charge() for f in files])
            raise
        hung.extend(parsed.hung)
        outcomes = list(parsed.outcomes.values())
        transient = [o for o in outcomes if isinstance(o, _Retry)]
        by_key = {f.key: f for f in files}
        if _is_outage(len(transient), len(outcomes)):
            # not the files' fault: give back the charges of every file not still parsing
            hanging = {f.key for f in parsed.hung}
            _merge_batches(
                session,
                "set_file_retries",
                [f.before_charge() for f in files if f.key not in hanging],
            )
            raise StepError(
                f"{len(transient)} of {len(outcomes)} files could not be read "
                f"({_tally(r.reason_code for r in transient)})"
            )
        rows = [o for o in outcomes if isinstance(o, dict)]
        kept = [f.before_charge() for f in parsed.unstarted]
        for retry in transient:
            file = by_key[(retry.relative_path, retry.etag)]
            attempts = file.attempts + 1  # the charge made before parsing is this attempt
            if attempts >= MAX_FILE_ATTEMPTS:
                exhausted = {
                    "ATTEMPTS": attempts,
                    "REASON_CODE": retry.reason_code,
                    "ERROR_MESSAGE": retry.message,
                }
                rows.append(
                    _metadata_row(
                        retry.relative_path,
                        retry.etag,
                        run_id,
                        MetadataFailure(
                            reason_codes.RETRIES_EXHAUSTED, _exhausted_message(exhausted)
                        ),
                    )
                )
            else:
                kept.append(file.retry_row(attempts, retry.reason_code, retry.message, run_id))
                retrying += 1
        _merge_batches(session, "merge_file_metadata", rows)
        if kept:
            _merge_batches(session, "set_file_retries", kept)
        _clear_retries(session, "extract_metadata", ((r["relative_path"], r["etag"]) for r in rows))
        count(rows)

    def process(batch: list[dict[str, Any]]) -> None:
        nonlocal suspects
        files = [_Pending.of(row) for row in batch]
        quarantine([f for f in files if f.suspect and f.attempts >= MAX_FILE_ATTEMPTS])
        innocent = [f for f in files if not f.suspect]
        if innocent:
            settle(innocent)
        for file in (f for f in files if f.suspect and f.attempts < MAX_FILE_ATTEMPTS):
            if hung or ((innocent or suspects) and budget.spent()):
                return  # not charged: still pending for the next run
            suspects += 1
            settle([file])

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        drained = drain(
            lambda: _pending_page(session, "select_files_to_extract", [run_id, page_rows]),
            process,
            batch_rows=MERGE_BATCH_ROWS,
            page_rows=page_rows,
            budget=budget,
            stop=lambda: bool(hung),
        )
    finally:
        # a hung parse's thread cannot be joined: leave it (its result is never read)
        pool.shutdown(wait=not hung, cancel_futures=True)
    details: dict[str, Any] = {
        "failures_by_reason": reasons,
        "retrying": retrying,
        "suspects": suspects,
        **drained.details(config.step_budget_s),
    }
    if hung:
        details["watchdog_stopped"] = len(hung)
        details["parse_limit_s"] = limit_s
    return StepSummary(drained.attempted, succeeded, failed, details)


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
    config = run_config_for(session, run_id, RunConfig.from_json(config_json))
    return task_summary(render_thumbnails_with(session, run_id, renderer, config))


def render_thumbnails_with(
    session: Session,
    run_id: str,
    renderer: ThumbnailRenderer,
    config: RunConfig | None = None,
    sizes: Sequence[int] = THUMBNAIL_SIZES,
    batch_rows: int = RENDER_BATCH_ROWS,
    clock: Clock = time.monotonic,
    page_rows: int = PENDING_PAGE_ROWS,
) -> StepSummary:
    """Render the pending readable file versions, the run's own first, while the budget
    lasts; merge one row per file and size.

    A file whose rendering failed for a transient reason is retried by later runs; when most
    of a batch fails that way the renderer or its storage is down and the step fails.
    """
    config = config or RunConfig()
    succeeded = failed = retrying = 0

    def fetch() -> tuple[list[RenderRequest], int]:
        rows, pending = _pending_page(
            session, "select_files_to_render", [run_id, len(sizes), page_rows]
        )
        requests = [
            RenderRequest(r["RELATIVE_PATH"], r["ETAG"], r["SHA256"], int(r["SIZE_BYTES"]))
            for r in rows
        ]
        return requests, pending

    def process(batch: list[RenderRequest]) -> None:
        nonlocal succeeded, failed, retrying
        outcome = thumbnail_rows(batch, renderer.render(batch), sizes, run_id)
        if _is_outage(outcome.files_deferred, len(batch)):
            raise StepError(
                f"{outcome.files_deferred} of {len(batch)} files could not be rendered for a "
                f"transient reason ({_tally(code for _, code, _ in outcome.deferred)})"
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

    drained = drain(
        fetch,
        process,
        batch_rows=batch_rows,
        page_rows=page_rows,
        budget=Budget(config.step_budget_s, clock),
    )
    return StepSummary(
        drained.attempted,
        succeeded,
        failed,
        {"retrying": max(retrying, 0), **drained.details(config.step_budget_s)},
    )


# --- finalizer --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """One step of a graph run as the finalizer sees it."""

    step: str
    succeeded: bool
    summary: StepSummary | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class GraphRun:
    """A graph run, read by the finalizer through a seam: TASK_HISTORY in production, the
    runner's outcomes locally. `expected` are the steps that must all succeed."""

    run_id: str
    trigger_kind: str  # scheduled | manual (an EXECUTE TASK, a CLI run)
    scheduled_at: datetime
    started_at: datetime | None
    expected: tuple[str, ...]
    results: tuple[StepResult, ...]

    def result(self, step: str) -> StepResult | None:
        return next((r for r in self.results if r.step == step), None)

    def failure(self) -> str | None:
        """Why the run failed, or None: the step that failed (the graph stops at it), else the
        first expected step that never ran."""
        for result in self.results:
            if result.step in self.expected and not result.succeeded:
                return f"step {result.step} failed: {result.error_message or 'no error message'}"
        missing = [step for step in self.expected if self.result(step) is None]
        return f"step {missing[0]} did not run" if missing else None

    def summary(self, step: str) -> StepSummary | None:
        result = self.result(step)
        return None if result is None else result.summary


@dataclass(frozen=True)
class GraphSettings:
    """The finalizer's part of the graph CONFIG (orchestration/deploy/tasks.py writes it):
    each step's task name in TASK_HISTORY ("root": the root's), and the heartbeat's
    integration."""

    pipeline: str
    task_names: Mapping[str, str]
    heartbeat_integration: str | None = None

    @classmethod
    def from_json(cls, text: str | None) -> GraphSettings:
        raw = json.loads(text) if text else {}
        names = raw.get("tasks") or {}
        if not isinstance(names, dict) or not names:
            raise RunConfigError("the graph CONFIG names no tasks for the finalizer to check")
        return cls(
            str(raw.get("pipeline") or "pixelforge"),
            {str(k): str(v) for k, v in names.items()},
            raw.get("heartbeat_integration"),
        )


def graph_run_from_task_history(
    run_id: str, rows: Sequence[Mapping[str, Any]], settings: GraphSettings
) -> GraphRun:
    """A graph run from its TASK_HISTORY rows (every attempt of every task of the run group).

    As the SQL finalizer did: a task succeeded when any attempt of it in this run group
    succeeded (automatic retries resume from the failed task). Its summary is the RETURN_VALUE
    of that attempt; its error the latest failed attempt's.
    """
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(str(row["NAME"]).upper(), []).append(row)
    results = []
    for step, name in settings.task_names.items():
        attempts = sorted(by_name.get(name.upper(), []), key=lambda r: int(r["ATTEMPT_NUMBER"]))
        if not attempts:
            continue
        succeeded = [r for r in attempts if r["STATE"] == "SUCCEEDED"]
        failed = [r for r in attempts if r["STATE"] != "SUCCEEDED"]
        results.append(
            StepResult(
                step,
                bool(succeeded),
                _summary_of(succeeded[-1].get("RETURN_VALUE")) if succeeded else None,
                None if succeeded else (failed[-1].get("ERROR_MESSAGE") or failed[-1]["STATE"]),
            )
        )
    root_name = settings.task_names.get("root", "").upper()
    root = min(by_name.get(root_name, []), key=lambda r: int(r["ATTEMPT_NUMBER"]), default=None)
    if root is None:
        raise StepError(f"no TASK_HISTORY row of the root {root_name!r} for graph run {run_id}")
    return GraphRun(
        run_id=run_id,
        trigger_kind="scheduled" if root.get("SCHEDULED_FROM") == "SCHEDULE" else "manual",
        scheduled_at=root["SCHEDULED_TIME"],
        started_at=root.get("QUERY_START_TIME"),
        expected=tuple(settings.task_names),
        results=tuple(results),
    )


def _summary_of(return_value: Any) -> StepSummary | None:
    """A step task's RETURN_VALUE: its procedure's summary (the root and dbt tasks set none)."""
    if not return_value:
        return None
    try:
        return StepSummary.from_json(str(return_value))
    except (ValueError, KeyError, TypeError):
        return None


def run_kind(trigger_kind: str, mode: str) -> str:
    """The run's kind in OPS.PIPELINE_RUNS: what it served, else what started it."""
    if mode == "backfill":
        return "backfill"
    if mode == "reconcile":
        return "reconciliation"
    return trigger_kind if trigger_kind in {"scheduled", "manual"} else "manual"


def run_counts(run: GraphRun) -> dict[str, int]:
    """Files discovered, and of those extracted how many succeeded or failed (extraction or
    rendering), from the step summaries."""
    discovered = run.summary("discover")
    extracted = run.summary("extract_metadata")
    rendered = run.summary("render_thumbnails")
    failed = sum(s.files_failed for s in (extracted, rendered) if s is not None)
    return {
        "files_discovered": discovered.files_in if discovered else 0,
        "files_succeeded": max((extracted.files_in if extracted else 0) - failed, 0),
        "files_failed": failed,
    }


def pipeline_run_record(
    run: GraphRun, config: RunConfig, failure: str | None, ended_at: datetime
) -> dict[str, Any]:
    """The OPS.PIPELINE_RUNS row of a finished run (the MERGE's JSON bind)."""
    return {
        "run_id": run.run_id,
        "kind": run_kind(run.trigger_kind, config.mode),
        "scheduled_at": _timestamp(run.scheduled_at),
        "started_at": _timestamp(run.started_at),
        "ended_at": _timestamp(ended_at),
        "state": "FAILED" if failure else "SUCCEEDED",
        "error_message": failure[:4000] if failure else None,
        "config": json.loads(config.to_json()),
        "request_id": config.request_id,
        **run_counts(run),
    }


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ")


class Heartbeat(Protocol):
    def run_succeeded(self, run_id: str, kind: str) -> None:
        """Tell the monitoring outside Snowflake that a run succeeded."""
        ...


class NotificationHeartbeat:
    """The run_succeeded message on the heartbeat topic (a Lambda turns it into the
    SuccessfulRuns metric the heartbeat alarm watches), sent with
    SYSTEM$SEND_SNOWFLAKE_NOTIFICATION as JSON, which queue (SNS) integrations take
    ("SYSTEM$SEND_SNOWFLAKE_NOTIFICATION",
    https://docs.snowflake.com/en/sql-reference/stored-procedures/system_send_snowflake_notification).
    """

    def __init__(self, session: Session, integration: str, pipeline: str) -> None:
        self._session = session
        self._integration = integration
        self._pipeline = pipeline

    def run_succeeded(self, run_id: str, kind: str) -> None:
        message = {"event": "run_succeeded", "pipeline": self._pipeline, "run_id": run_id}
        self._session.sql(
            read_sql("send_heartbeat"),
            params=[json.dumps({**message, "kind": kind}), self._integration],
        ).collect()


def finalize(session: Session, run_id: str, config_json: str = "") -> str:
    """Procedure FINALIZE(run_id, config): the finalizer task's handler (it runs after the
    graph succeeded or failed). Reads the run's tasks from TASK_HISTORY, then finalize_with."""
    settings = GraphSettings.from_json(config_json)
    rows = [
        r.as_dict()
        for r in session.sql(read_sql("select_graph_run_tasks"), params=[run_id]).collect()
    ]
    run = graph_run_from_task_history(run_id, rows, settings)
    config = run_config_for(session, run_id, RunConfig.from_json(config_json))
    heartbeat = (
        NotificationHeartbeat(session, settings.heartbeat_integration, settings.pipeline)
        if settings.heartbeat_integration
        else None
    )
    return task_summary(finalize_with(session, run, config, heartbeat))


def finalize_with(
    session: Session,
    run: GraphRun,
    config: RunConfig,
    heartbeat: Heartbeat | None = None,
    now: Callable[[], datetime] = _utc_now,
) -> StepSummary:
    """Record the run: advance the discovery state when every step succeeded (a backfill
    leaves the scheduled runs' state where it is), settle the request it served, MERGE its
    OPS.PIPELINE_RUNS row, and send the heartbeat after a success. Idempotent: a retried
    finalizer writes the same rows."""
    failure = run.failure()
    committed = failure is None and config.advances_discovery_state
    if committed:
        session.sql(read_sql("commit_directory_state"), params=[run.run_id]).collect()
    if config.request_id:
        session.sql(
            read_sql("finish_run_request"),
            params=[failure is None, MAX_REQUEST_ATTEMPTS, failure and failure[:2000], run.run_id],
        ).collect()
    record = pipeline_run_record(run, config, failure, now())
    session.sql(read_sql("merge_pipeline_run"), params=[json.dumps(record)]).collect()
    if failure is None and heartbeat is not None:
        heartbeat.run_succeeded(run.run_id, record["kind"])
    return StepSummary(
        0,
        0,
        0,
        {
            "committed": committed,
            "state": record["state"],
            "request_id": config.request_id,
            "run": record,
        },
    )
