"""Step "extract_metadata": the pending file versions' metadata, charged before parsing so that a
file which crashes or hangs its parse is charged to itself. The procedure keeps the control flow
(charge, settle, retries, MERGE, counts); the per-file work runs where the extractor it is given
runs it (steps/extractors.py: the warehouse, through the UDF of udf_extract.py, in production)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixelforge_core import reason_codes
from pixelforge_core.records import MetadataFailure
from snowpark_procs.run_config import RunConfig
from snowpark_procs.steps.bounded import Budget, drain, pending_page
from snowpark_procs.steps.common import (
    MAX_FILE_ATTEMPTS,
    PENDING_PAGE_ROWS,
    Clock,
    Retry,
    SqlSession,
    StepError,
    StepSummary,
    clear_retries,
    exhausted_message,
    is_outage,
    merge_batches,
    tally,
)
from snowpark_procs.steps.extractors import FileExtractor, StatementAbandonedError
from snowpark_procs.udf_extract import metadata_row, split_facet_rows

# Extraction: seconds a file may parse (from when it starts) before it is left behind as hung
# and the step takes no new work; well inside the step's timeout, past its budget (the batch in
# flight may run over). The UDF applies it to each row (udf_extract.py).
PARSE_LIMIT_S = 120.0
# Extraction: the retry reason of an attempt charged before parsing and not yet settled by an
# outcome (raw.file_retries only: a file quarantined for it ends retries_exhausted).
EXTRACTION_INCOMPLETE = "extraction_incomplete"


@dataclass(frozen=True)
class Pending:
    """A pending file version and its retry state before this run (attempts 0: none)."""

    relative_path: str
    etag: str
    attempts: int = 0
    reason_code: str | None = None
    error_message: str | None = None
    retry_run_id: str | None = None
    # The one facet a facet re-processing waits for on it (select_files_to_extract.sql);
    # None: extraction computes every facet covering its format.
    redo_facet: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Pending:
        return cls(
            row["RELATIVE_PATH"],
            row["ETAG"],
            int(row.get("RETRY_ATTEMPTS") or 0),
            row.get("RETRY_REASON_CODE"),
            row.get("RETRY_ERROR_MESSAGE"),
            row.get("RETRY_RUN_ID"),
            row.get("REDO_FACET") or None,
        )

    @property
    def facets(self) -> frozenset[str] | None:
        """The extraction facets to compute for it: a facet re-processing's alone, else all."""
        return None if self.redo_facet is None else frozenset({self.redo_facet})

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


def extract_metadata_with(
    session: SqlSession,
    run_id: str,
    extractor: FileExtractor,
    config: RunConfig | None = None,
    clock: Clock = time.monotonic,
    page_rows: int = PENDING_PAGE_ROWS,
    parse_limit_s: float | None = None,
) -> StepSummary:
    """Extract the pending file versions, the run's own first, while the budget lasts
    (config.step_budget_s), config.extract_batch_rows versions a batch; failures become rows,
    not exceptions.

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
    - Watchdog: the extractor (steps/extractors.py, the seam: the warehouse running the UDF
      over the batch in production, the same handler row by row locally) gives each file
      `parse_limit_s` (PARSE_LIMIT_S by default, well inside the step timeout) from when its
      parse starts, inside the handler (udf_extract.py). An overdue file comes back hung: the
      step merges what finished, takes no new work and returns (details["watchdog_stopped"]);
      the overdue file keeps its charge and is a suspect next run. Its thread keeps running
      until its process ends. A parse that holds the GIL, or that Snowflake kills the
      statement for (its time or memory limit), fails the whole statement: the extractor
      raises StatementAbandonedError and every file of the batch keeps its charge, as when the
      process dies; the next run extracts each alone, so the file at fault is charged to
      itself all the same.
    """
    config = config or RunConfig()
    limit_s = PARSE_LIMIT_S if parse_limit_s is None else parse_limit_s
    budget = Budget(config.step_budget_s, clock)
    succeeded = failed = retrying = suspects = 0
    hung: list[Pending] = []
    reasons: Counter[str] = Counter()

    def count(rows: Sequence[dict[str, Any]]) -> None:
        nonlocal succeeded, failed
        for row in rows:
            if row["status"] == "ok":
                succeeded += 1
            else:
                failed += 1
                reasons[row["reason_code"]] += 1

    def charge(files: Sequence[Pending]) -> None:
        message = "extraction started, no outcome recorded: the run ended while parsing it" + (
            " alone" if len(files) == 1 else f" or one of the {len(files)} files of its batch"
        )
        merge_batches(
            session,
            "record_file_retries",
            [f.retry_row(0, EXTRACTION_INCOMPLETE, message, run_id) for f in files],
        )

    def quarantine(files: Sequence[Pending]) -> None:
        rows = [
            metadata_row(
                f.relative_path,
                f.etag,
                run_id,
                MetadataFailure(
                    reason_codes.RETRIES_EXHAUSTED,
                    exhausted_message(
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
        merge_batches(session, "merge_file_metadata", rows)
        clear_retries(session, "extract_metadata", (f.key for f in files))
        count(rows)

    def merge_rows(outcomes: Sequence[dict[str, Any]]) -> None:
        """The outcomes' raw.file_metadata rows, then their raw.file_facets rows (a facet's row
        is rewritten only where its version, status or payload changed)."""
        split = [split_facet_rows(outcome) for outcome in outcomes]
        merge_batches(session, "merge_file_metadata", [row for row, _ in split])
        merge_batches(session, "merge_file_facets", [f for _, facets in split for f in facets])

    def settle(files: Sequence[Pending]) -> None:
        nonlocal retrying
        charge(files)
        try:
            parsed = extractor.extract(files, run_id, limit_s)
        except StatementAbandonedError:
            raise  # the charges stay: the files of the statement become suspects
        except Exception:
            # A step failure (the source's contract: anything but SourceFileError), not a
            # file's: the process lives, so the charges are given back, as before them.
            # A process that dies (a BaseException here) records nothing: they stay.
            merge_batches(session, "set_file_retries", [f.before_charge() for f in files])
            raise
        hung.extend(parsed.hung)
        outcomes = list(parsed.outcomes.values())
        transient = [o for o in outcomes if isinstance(o, Retry)]
        by_key = {f.key: f for f in files}
        if is_outage(len(transient), len(outcomes)):
            # not the files' fault: give back the charges of every file not still parsing
            hanging = {f.key for f in parsed.hung}
            merge_batches(
                session,
                "set_file_retries",
                [f.before_charge() for f in files if f.key not in hanging],
            )
            raise StepError(
                f"{len(transient)} of {len(outcomes)} files could not be read "
                f"({tally(r.reason_code for r in transient)})"
            )
        rows = [o for o in outcomes if isinstance(o, dict)]
        kept: list[dict[str, Any]] = []
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
                    metadata_row(
                        retry.relative_path,
                        retry.etag,
                        run_id,
                        MetadataFailure(
                            reason_codes.RETRIES_EXHAUSTED, exhausted_message(exhausted)
                        ),
                    )
                )
            else:
                kept.append(file.retry_row(attempts, retry.reason_code, retry.message, run_id))
                retrying += 1
        merge_rows(rows)
        if kept:
            merge_batches(session, "set_file_retries", kept)
        clear_retries(session, "extract_metadata", ((r["relative_path"], r["etag"]) for r in rows))
        count(rows)

    def process(batch: list[dict[str, Any]]) -> None:
        nonlocal suspects
        files = [Pending.of(row) for row in batch]
        quarantine([f for f in files if f.suspect and f.attempts >= MAX_FILE_ATTEMPTS])
        innocent = [f for f in files if not f.suspect]
        if innocent:
            settle(innocent)
        for file in (f for f in files if f.suspect and f.attempts < MAX_FILE_ATTEMPTS):
            if hung or ((innocent or suspects) and budget.spent()):
                return  # not charged: still pending for the next run
            suspects += 1
            settle([file])

    try:
        drained = drain(
            lambda: pending_page(session, "select_files_to_extract", [run_id, page_rows]),
            process,
            batch_rows=config.extract_batch_rows,
            page_rows=page_rows,
            budget=budget,
            stop=lambda: bool(hung),
        )
    finally:
        extractor.close()
    details: dict[str, Any] = {
        "failures_by_reason": dict(reasons),
        "retrying": retrying,
        "suspects": suspects,
        **drained.details(config.step_budget_s),
    }
    if hung:
        details["watchdog_stopped"] = len(hung)
        details["parse_limit_s"] = limit_s
    return StepSummary(drained.attempted, succeeded, failed, details)
