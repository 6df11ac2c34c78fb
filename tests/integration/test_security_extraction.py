"""Untrusted files inside the extraction procedure (issue 12, "Isolation of untrusted decoding").

A file that crashes the procedure's process or hangs a parser is charged to that file: its
attempt is recorded before parsing, a file whose charge a dead run left is parsed alone and
last, and a per-file watchdog ends a step a hang would otherwise time out. Every test here has
"security" in its name (`pytest -k security`).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from snowpark_procs.steps import extract as extract_step
from snowpark_procs.steps.common import MAX_FILE_ATTEMPTS
from snowpark_procs.steps.extract import EXTRACTION_INCOMPLETE
from tests.integration.conftest import (
    FILES_ONLY,
    check_consistency,
    query,
    runner_for,
    small_corpus,
    upload,
)

pytestmark = pytest.mark.integration

POISON = "team-a/photo.jpg"  # sorts in the middle of the corpus: files come after it


class ProcessDied(BaseException):
    """The procedure's process dying (a segfault in a decoder, an out-of-memory kill): not an
    Exception, so no handler code runs after it and nothing more is written."""


class PoisonedSource:
    """A read seam that behaves like the designs stage, except for one file: `on_poison` runs
    when that file is opened. Counts the opens of every file across runs."""

    def __init__(self, poison: str, on_poison: Any) -> None:
        self.poison = poison
        self.on_poison = on_poison
        self.opened: Counter[str] = Counter()
        self.lock = threading.Lock()

    def wrap(self, source: Any) -> Any:
        outer = self

        class Wrapped:
            def open(self, relative_path: str, etag: str) -> Any:
                with outer.lock:
                    outer.opened[relative_path] += 1
                if relative_path == outer.poison:
                    outer.on_poison(relative_path)
                return source.open(relative_path, etag)

        return Wrapped()


def _die(relative_path: str) -> None:
    raise ProcessDied("the decoder took the process down")


def _retries(stack) -> list[dict[str, Any]]:
    return query(
        stack,
        "select relative_path, attempts, reason_code, run_id from raw.file_retries "
        "where step = 'extract_metadata'",
    )


def _extract(report):
    return next(o for o in report.steps if o.step_run.step == "extract_metadata")


def test_security_a_file_that_crashes_the_procedure_ends_retries_exhausted(start_stack):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    poisoned = PoisonedSource(POISON, _die)
    # the files' steps alone until the file is settled, then a whole run builds the marts
    runner = runner_for(stack, pipeline=FILES_ONLY, wrap_byte_source=poisoned.wrap)

    died = 0
    retries_after: list[list[dict[str, Any]]] = []
    report = None
    for _ in range(MAX_FILE_ATTEMPTS + 1):
        try:
            report = runner.run(kind="scheduled")
        except ProcessDied:
            died += 1
            retries_after.append(_retries(stack))
            continue
        break

    # the file was parsed MAX_FILE_ATTEMPTS times, each run dying; the next run quarantined it
    # without parsing it again, and succeeded
    assert died == MAX_FILE_ATTEMPTS
    assert report is not None and report.succeeded, report and report.run.error_message
    assert poisoned.opened[POISON] == MAX_FILE_ATTEMPTS
    row = query(
        stack,
        "select status, reason_code, error_message from raw.file_metadata where relative_path = ?",
        [POISON],
    )
    assert [(r["STATUS"], r["REASON_CODE"]) for r in row] == [("failed", "retries_exhausted")]
    assert EXTRACTION_INCOMPLETE in row[0]["ERROR_MESSAGE"]
    assert f"after {MAX_FILE_ATTEMPTS} attempts" in row[0]["ERROR_MESSAGE"]
    whole = runner_for(stack, wrap_byte_source=poisoned.wrap).run(kind="scheduled")
    assert whole.succeeded, whole.run.error_message
    assert poisoned.opened[POISON] == MAX_FILE_ATTEMPTS  # not parsed again
    quarantined = query(
        stack,
        "select reason_code from marts.fct_quarantined_file_versions as q "
        "join marts.fct_file_versions as v on q.file_version_id = v.file_version_id "
        "where v.relative_path = ?",
        [POISON],
    )
    assert [r["REASON_CODE"] for r in quarantined] == ["retries_exhausted"]

    # the first run died with the whole batch charged; after it, every run charged only files
    # it parsed alone, and left no innocent file charged by it
    first = retries_after[0]
    assert {r["RELATIVE_PATH"] for r in first} == set(files)
    first_run_id = {r["RUN_ID"] for r in first}
    assert len(first_run_id) == 1
    for retries in retries_after[1:]:
        innocent = [r for r in retries if r["RELATIVE_PATH"] != POISON]
        assert all(r["RUN_ID"] in first_run_id and r["ATTEMPTS"] == 1 for r in innocent), retries
    assert [
        next(r["ATTEMPTS"] for r in retries if r["RELATIVE_PATH"] == POISON)
        for retries in retries_after
    ] == list(range(1, MAX_FILE_ATTEMPTS + 1))

    # every other file was extracted once: read at most twice (in the batch the crash took
    # down, then alone), one metadata row each, nothing left charged or pending
    innocent_files = set(files) - {POISON}
    assert all(1 <= poisoned.opened[path] <= 2 for path in innocent_files), poisoned.opened
    metadata = query(stack, "select relative_path, status from raw.file_metadata")
    assert Counter(r["RELATIVE_PATH"] for r in metadata) == Counter(set(files))
    consistency = check_consistency(stack)
    assert consistency.lost == []
    assert consistency.duplicated == []
    assert consistency.problems == []


def test_security_a_hanging_file_is_stopped_by_the_watchdog_and_becomes_a_suspect(
    start_stack, monkeypatch
):
    stack = start_stack()
    files = small_corpus()
    upload(stack, files)
    limit_s = 2.0
    monkeypatch.setattr(extract_step, "PARSE_LIMIT_S", limit_s)
    hanging = threading.Event()
    release = threading.Event()

    def hang(_relative_path: str) -> None:
        hanging.set()
        release.wait(120)  # a parser stuck in a loop; the test lets it go at the end

    poisoned = PoisonedSource(POISON, hang)
    try:
        report = runner_for(stack, wrap_byte_source=poisoned.wrap).run(kind="scheduled")
        still_hanging = hanging.is_set() and not release.is_set()
    finally:
        release.set()

    # the step ended within the limit (plus the merges), the parse still stuck
    assert still_hanging
    assert report.succeeded, report.run.error_message
    extract = _extract(report)
    assert extract.summary.details["watchdog_stopped"] == 1
    assert extract.summary.details["parse_limit_s"] == limit_s
    elapsed = (extract.step_run.ended_at - extract.step_run.started_at).total_seconds()
    assert elapsed < limit_s + 15
    # the hanging file keeps its charge; the files never started were given theirs back
    retries = _retries(stack)
    assert [(r["RELATIVE_PATH"], r["ATTEMPTS"], r["REASON_CODE"]) for r in retries] == [
        (POISON, 1, EXTRACTION_INCOMPLETE)
    ]
    assert query(
        stack, "select count(*) as n from raw.file_metadata where relative_path = ?", [POISON]
    ) == [{"N": 0}]

    # next run: the suspect is parsed alone, after the rest, and everything is extracted
    recovered = runner_for(stack).run(kind="scheduled")
    assert recovered.succeeded, recovered.run.error_message
    assert _extract(recovered).summary.details["suspects"] == 1
    assert "watchdog_stopped" not in _extract(recovered).summary.details
    consistency = check_consistency(stack)
    assert consistency.lost == []
    assert consistency.duplicated == []
    assert consistency.problems == []


class FlakyFile:
    """One file's read fails transiently on every run (S3 answering 503, say)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, relative_path: str) -> None:
        raise ConnectionError(f"injected transient failure for {relative_path}")


def test_security_a_transient_failure_counts_one_attempt_per_run(start_stack):
    stack = start_stack()
    upload(stack, small_corpus())
    flaky = PoisonedSource(POISON, FlakyFile(POISON))
    runner = runner_for(stack, pipeline=FILES_ONLY, wrap_byte_source=flaky.wrap)

    attempts = []
    for _ in range(MAX_FILE_ATTEMPTS):
        report = runner.run(kind="scheduled")
        assert report.succeeded, report.run.error_message
        attempts.append([r["ATTEMPTS"] for r in _retries(stack)])

    # the charge made before parsing is the attempt: a transient failure is not counted twice,
    # and its own reason replaces the charge's
    assert attempts == [[1], [2], []]
    assert flaky.opened[POISON] == MAX_FILE_ATTEMPTS
    row = query(
        stack,
        "select reason_code, error_message from raw.file_metadata where relative_path = ?",
        [POISON],
    )
    assert row[0]["REASON_CODE"] == "retries_exhausted"
    assert "ConnectionError" in row[0]["ERROR_MESSAGE"]
