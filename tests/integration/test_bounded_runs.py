"""Bounded runs, Snowflake's timeout and suspension, and the run request queue, on the embedded
stack.

Time is simulated: a clock that advances only when work is done (each file read or rendered
costs a fixed number of seconds), passed to the runner as its clock seam, so a step's budget and
timeout hold a deterministic number of files, however fast this machine is. The graph here is
the pipeline's without its dbt steps (what is bounded is extraction and rendering; dbt costs
real seconds and nothing simulated).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.graph import INCREMENTAL, RetryPolicy
from orchestration.history import graph_status, utc_now
from orchestration.local.runner import RunReport
from orchestration.local.scheduler import Scheduler, Trigger
from orchestration.local.stack import LocalStack
from orchestration.ops_cli import graph_line
from pixelforge_core.render_wire import RenderRequest
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS
from snowpark_procs.rendering import ThumbnailRenderer
from snowpark_procs.run_config import RunConfig, backfill_config
from snowpark_procs.steps.common import StepSummary
from tests.integration.conftest import query, runner_for

pytestmark = pytest.mark.integration

# The graph CONFIG's extraction batch in these tests (production's is EXTRACT_BATCH_ROWS, 500;
# docs/runbook.md raises it for day zero): a fifth of it, so a load of a few hundred files takes
# the same runs a load of thousands takes at 500, and the simulated seconds are five times
# theirs (binary fractions: sums stay exact). With a 100 s step timeout, each bounded step has
# a 50 s budget: one batch of 100 files to extract per run (62.5 s, within the timeout),
# rendered in one statement (the render step's statements are RENDER_BUDGET.statement_rows(4)
# = 720 rows).
BATCH_ROWS = EXTRACT_BATCH_ROWS // 5
READ_S = 0.625
RENDER_S = 0.3125
# discover, extract_metadata, render_thumbnails and the finalizer
BOUNDED = replace(
    INCREMENTAL,
    steps=INCREMENTAL.steps[:3],
    step_timeout_ms=100_000,
    step_budget_fraction=0.5,
)
FILES_PER_RUN = BATCH_ROWS  # its first batch overruns the budget, then it stops
# three runs: two stopped by their budget, one that finishes the backlog
LOAD_FILES = 2 * BATCH_ROWS + 20
OVERWRITTEN = f"load/{LOAD_FILES - 1:05d}.png"  # before any run reached them
DELETED = f"load/{LOAD_FILES - 2:05d}.png"


class SimulatedClock:
    """Seconds that pass only when the pipeline works (thread-safe: extraction reads files on
    a pool of threads)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class TimedSource:
    def __init__(self, source: Any, clock: SimulatedClock) -> None:
        self._source = source
        self._clock = clock

    def open(self, relative_path: str, etag: str) -> Any:
        self._clock.advance(READ_S)
        return self._source.open(relative_path, etag)


class TimedRenderer:
    def __init__(self, renderer: ThumbnailRenderer, clock: SimulatedClock) -> None:
        self._renderer = renderer
        self._clock = clock

    def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
        self._clock.advance(RENDER_S * len(requests))
        return self._renderer.render(requests)


def tiny_png(i: int) -> bytes:
    """An 8x6 PNG whose colour encodes i (distinct for i < 65536: distinct thumbnails)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (i & 0xFF, (i >> 8) & 0xFF, 0x5A)).save(buffer, "PNG")
    return buffer.getvalue()


def upload_many(stack: LocalStack, files: dict[str, bytes]) -> None:
    s3 = stack.s3()
    bucket = stack.settings.designs_bucket
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), files.items()
            )
        )


def timed_runner(stack: LocalStack, clock: SimulatedClock, **options: Any) -> Any:
    """A runner on simulated time; `wrap_byte_source` / `wrap_renderer` wrap the timed seams."""
    outer_source = options.pop("wrap_byte_source", None) or (lambda source: source)
    outer_renderer = options.pop("wrap_renderer", None) or (lambda renderer: renderer)
    return runner_for(
        stack,
        pipeline=options.pop("pipeline", BOUNDED),
        clock=clock,
        extract_batch_rows=BATCH_ROWS,
        mirror_object_store=False,
        wrap_byte_source=lambda source: outer_source(TimedSource(source, clock)),
        wrap_renderer=lambda renderer: outer_renderer(TimedRenderer(renderer, clock)),
        **options,
    )


def summary(report: RunReport, step: str) -> StepSummary:
    outcome = next(o for o in report.steps if o.step_run.step == step)
    assert outcome.summary is not None, outcome.step_run.error_message
    return outcome.summary


def bucket_versions(stack: LocalStack) -> dict[str, str]:
    pages = (
        stack.s3().get_paginator("list_objects_v2").paginate(Bucket=stack.settings.designs_bucket)
    )
    return {o["Key"]: o["ETag"].strip('"') for page in pages for o in page.get("Contents", [])}


def test_an_initial_load_completes_over_several_bounded_runs(start_stack):
    """Thousands of files at once (a first deploy): every run stops taking batches at its
    budget and succeeds; the backlog shrinks to 0 over later runs; new uploads go first; no
    file is lost, none processed twice, and the graph never suspends."""
    stack = start_stack()
    files = {f"load/{i:05d}.png": tiny_png(i) for i in range(LOAD_FILES)}
    upload_many(stack, files)
    clock = SimulatedClock()
    printed: list[str] = []
    runner = timed_runner(stack, clock, echo=printed.append)
    reports: list[RunReport] = []
    late = {f"late/{i}.png": tiny_png(60_000 + i) for i in range(5)}

    for _ in range(8):
        report = runner.run(kind="scheduled")
        reports.append(report)
        assert report.succeeded, report.run.error_message
        if len(reports) == 1:
            # between runs: new uploads, and two files of the backlog deleted or overwritten
            # before any run reached them
            upload_many(stack, {**late, OVERWRITTEN: tiny_png(61_000)})
            stack.s3().delete_object(Bucket=stack.settings.designs_bucket, Key=DELETED)
        if len(reports) == 2:
            with stack.session() as session:
                extracted = {
                    r["RELATIVE_PATH"]
                    for r in session.sql("select relative_path from raw.file_metadata").collect()
                }
            assert set(late) | {OVERWRITTEN} <= extracted  # not starved by the backlog
        extract = summary(report, "extract_metadata")
        render = summary(report, "render_thumbnails")
        if extract.details["backlog"] == 0 and render.details["backlog"] == 0:
            break

    # the runner printed each bounded step's progress as it went (simulated seconds: 100
    # files read at 0.625 s each in the first run, 120 left)
    assert (
        "  extract_metadata: 100 done, 120 left, 1.6 files/s; "
        "ETA 1 min 15 s of step time (~2 more runs)"
    ) in printed
    assert printed.count("  extract_metadata: attempt 1 ...") == len(reports)
    extract_backlog = [summary(r, "extract_metadata").details["backlog"] for r in reports]
    render_backlog = [summary(r, "render_thumbnails").details["backlog"] for r in reports]
    assert len(reports) >= 3, extract_backlog  # the load took several runs
    assert extract_backlog == sorted(extract_backlog, reverse=True)
    assert extract_backlog[-1] == 0 and render_backlog[-1] == 0
    assert all(summary(r, "extract_metadata").files_in <= FILES_PER_RUN for r in reports)
    assert summary(reports[0], "extract_metadata").details["stopped_by_budget"] is True
    # no step ever overran its timeout; the graph kept running
    states = query(stack, "select distinct step, state, attempt from ops.step_runs")
    assert {(r["STATE"], r["ATTEMPT"]) for r in states} == {("SUCCEEDED", 1)}
    with stack.session() as session:
        assert not graph_status(session, BOUNDED.name).suspended

    current = bucket_versions(stack)
    assert len(current) == LOAD_FILES - 1 + len(late)
    # nothing redone: each current version read once and rendered once, over all the runs
    assert sum(summary(r, "extract_metadata").files_in for r in reports) == len(current)
    assert sum(summary(r, "render_thumbnails").files_in for r in reports) == len(current)
    metadata = query(stack, "select relative_path, etag, status from raw.file_metadata")
    assert sorted((r["RELATIVE_PATH"], r["ETAG"]) for r in metadata) == sorted(current.items())
    assert {r["STATUS"] for r in metadata} == {"ok"}
    thumbnails = query(
        stack, "select relative_path, etag, size_px, status, thumbnail_key from raw.thumbnails"
    )
    assert sorted((r["RELATIVE_PATH"], r["ETAG"], r["SIZE_PX"]) for r in thumbnails) == sorted(
        (path, etag, size) for path, etag in current.items() for size in (256, 1024)
    )
    objects = {
        o["Key"]
        for page in stack.s3()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=stack.settings.thumbnails_bucket, Prefix="v1/")
        for o in page.get("Contents", [])
    }
    assert objects == {r["THUMBNAIL_KEY"] for r in thumbnails}
    state = query(stack, "select relative_path, etag from raw.directory_state")
    assert {r["RELATIVE_PATH"]: r["ETAG"] for r in state} == current
    assert query(stack, "select count(*) as n from raw.file_retries")[0]["N"] == 0

    # a backfill of the whole window, bounded too: its run redoes one budget's worth, the
    # next runs drain the rest of its window, each version once
    window = backfill_config(
        f"{(utc_now() - timedelta(hours=1)).isoformat()}Z",
        f"{(utc_now() + timedelta(minutes=1)).isoformat()}Z",
    )
    backfill = runner.run(kind="backfill", config=window)
    assert backfill.succeeded and backfill.run.kind == "backfill"
    assert summary(backfill, "discover").details["changes"] == {"backfill": len(current)}
    drained = [backfill]
    while (
        summary(drained[-1], "extract_metadata").details["backlog"]
        or summary(drained[-1], "render_thumbnails").details["backlog"]
    ):
        assert len(drained) < 8
        drained.append(runner.run(kind="scheduled"))
        assert drained[-1].succeeded, drained[-1].run.error_message
    assert len(drained) >= 3
    assert sum(summary(r, "extract_metadata").files_in for r in drained) == len(current)
    assert sum(summary(r, "render_thumbnails").files_in for r in drained) == len(current)
    redone = query(
        stack,
        "select count(*) as n from raw.file_metadata as m inner join raw.file_changes as c "
        "on m.relative_path = c.relative_path and m.etag = c.etag "
        "where c.run_id = ? and m.extracted_at > c.discovered_at",
        [backfill.run.run_id],
    )
    assert redone[0]["N"] == len(current)
    assert len(query(stack, "select relative_path from raw.file_metadata")) == len(current)
    assert len(query(stack, "select relative_path from raw.thumbnails")) == 2 * len(current)
    assert query(stack, "select relative_path, etag from raw.directory_state") == state


def test_timeouts_fail_runs_consecutive_failures_suspend_the_graph_and_resume_restarts_it(
    start_stack, monkeypatch
):
    stack = start_stack()
    upload_many(stack, {f"few/{i}.png": tiny_png(i) for i in range(3)})
    clock = SimulatedClock()
    pipeline = replace(
        BOUNDED, retry=RetryPolicy(max_attempts=1), suspend_after_failures=2, step_timeout_ms=10_000
    )

    def overrun(step: str, phase: str) -> None:
        if step == "extract_metadata" and phase == "after":
            clock.advance(11.0)  # the step ran past its 10 s timeout

    failing = timed_runner(stack, clock, pipeline=pipeline, fault_hook=overrun)
    runner = timed_runner(stack, clock, pipeline=pipeline)

    first = failing.run(kind="scheduled")

    assert first.run.state == "FAILED"
    assert "timed out" in (first.run.error_message or "")
    extract = query(
        stack,
        "select state, error_message from ops.step_runs where run_id = ? and step = ?",
        [first.run.run_id, "extract_metadata"],
    )
    assert [r["STATE"] for r in extract] == ["FAILED"]
    assert "USER_TASK_TIMEOUT_MS = 10000" in extract[0]["ERROR_MESSAGE"]
    # what the step merged before it was found overrun is kept; the state does not advance
    assert query(stack, "select count(*) as n from raw.file_metadata")[0]["N"] == 3
    assert query(stack, "select count(*) as n from raw.directory_state")[0]["N"] == 0
    assert not runner.graph_suspended()
    lock_path = stack.settings.data_dir / f"{pipeline.name}.run.lock"
    with lock_path.open("w") as lock:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)  # a run is executing: the next one is skipped
        assert runner.run(kind="scheduled").run.state == "SKIPPED"
    assert not runner.graph_suspended()  # a skipped run is not a failure, nor a success

    second = failing.run(kind="scheduled")

    assert second.run.state == "FAILED"
    assert runner.graph_suspended()
    with stack.session() as session:
        status = graph_status(session, pipeline.name)
    assert "2 consecutive failed runs" in (status.reason or "")
    assert "SUSPENDED" in graph_line(status)  # what `pixelforge status` prints

    wall = {"now": datetime(2026, 11, 26, 2, 50)}
    started: list[Trigger] = []

    def start_run(trigger: Trigger, tick: datetime) -> None:
        started.append(trigger)
        assert runner.run(kind=trigger.kind, scheduled_at=tick, config=trigger.config).succeeded

    scheduler = Scheduler(
        pipeline,
        start_run,
        clock=lambda: wall["now"],
        is_suspended=runner.graph_suspended,
        queue_request=lambda trigger: runner.request(trigger.config),
    )
    wall["now"] = datetime(2026, 11, 26, 3, 1)  # the 03:00 incremental and nightly ticks
    assert scheduler.run_due() == 0
    assert started == []
    queued = query(stack, "select mode, state from ops.run_requests")
    assert queued == [{"MODE": "reconcile", "STATE": "PENDING"}]

    for name, port in (
        ("PIXELFORGE_WAREHOUSE_PORT", stack.settings.warehouse_port),
        ("PIXELFORGE_S3_PORT", stack.settings.s3_port),
        ("PIXELFORGE_RENDER_PORT", stack.settings.render_port),
    ):
        monkeypatch.setenv(name, str(port))
    resumed = CliRunner().invoke(app, ["resume", "--data-dir", str(stack.settings.data_dir)])
    assert resumed.exit_code == 0, resumed.output
    assert "graph resumed" in resumed.output
    assert not runner.graph_suspended()

    wall["now"] = datetime(2026, 11, 26, 3, 15)
    assert scheduler.run_due() == 1
    assert [t.kind for t in started] == ["scheduled"]
    served = query(stack, "select mode, state from ops.run_requests")
    assert served == [{"MODE": "reconcile", "STATE": "DONE"}]  # the queued nightly run
    assert query(stack, "select count(*) as n from raw.directory_state")[0]["N"] == 3


def test_requests_made_while_a_run_is_going_each_run_once(start_stack):
    """Two backfills and a reconciliation requested during a run: all three run, once each,
    with their own windows; nothing is dropped (EXECUTE TASK ... USING CONFIG would have kept
    only the last)."""
    stack = start_stack()
    early = {f"early/{i}.png": tiny_png(i) for i in range(3)}
    later = {f"later/{i}.png": tiny_png(100 + i) for i in range(2)}
    upload_many(stack, early)
    time.sleep(1.1)
    boundary = utc_now().replace(microsecond=0)
    time.sleep(1.1)
    upload_many(stack, later)
    start = f"{(boundary - timedelta(hours=1)).isoformat()}Z"
    end = f"{(utc_now() + timedelta(minutes=1)).isoformat()}Z"
    windows = {
        "early": backfill_config(start, f"{boundary.isoformat()}Z"),
        "later": backfill_config(f"{boundary.isoformat()}Z", end),
    }
    clock = SimulatedClock()
    queued: list[RunReport] = []
    threads: list[threading.Thread] = []

    def request_during_the_run(step: str, phase: str) -> None:
        if step != "discover" or phase != "after" or threads:
            return
        for kind, config in (
            ("backfill", windows["early"]),
            ("backfill", windows["later"]),
            ("reconcile", RunConfig("reconcile")),
        ):  # as `pixelforge backfill` / `reconcile` do: a request, then a run queued behind
            runner = timed_runner(stack, clock)
            thread = threading.Thread(
                target=lambda r=runner, k=kind, c=config: queued.append(r.run(kind=k, config=c))
            )
            thread.start()
            threads.append(thread)
        deadline = time.monotonic() + 60
        while query(stack, "select count(*) as n from ops.run_requests")[0]["N"] < 3:
            assert time.monotonic() < deadline, "the requests were not queued"
            time.sleep(0.2)

    running = timed_runner(stack, clock, fault_hook=request_during_the_run).run(kind="scheduled")
    for thread in threads:
        thread.join(timeout=300)

    assert running.succeeded and running.run.request_id is None  # it had claimed nothing
    assert len(queued) == 3 and all(r.succeeded for r in queued), [
        r.run.error_message for r in queued
    ]
    requests = query(
        stack, "select request_id, mode, state, attempts, run_id from ops.run_requests"
    )
    assert {r["STATE"] for r in requests} == {"DONE"}
    assert {r["ATTEMPTS"] for r in requests} == {1}
    served = {r.run.request_id: r for r in queued}
    assert set(served) == {r["REQUEST_ID"] for r in requests}  # each request by one run
    assert {r["RUN_ID"] for r in requests} == {r.run.run_id for r in queued}
    assert sorted(r.run.kind for r in queued) == ["backfill", "backfill", "reconcile"]
    backfilled = []
    for report in queued:
        changes = query(
            stack,
            "select relative_path from raw.file_changes where run_id = ?",
            [report.run.run_id],
        )
        if report.run.kind == "backfill":
            backfilled.append({r["RELATIVE_PATH"] for r in changes})
        else:
            assert "reconciliation" in summary(report, "discover").details
    assert sorted(backfilled, key=len) == [set(later), set(early)]  # each window, once
    idle = timed_runner(stack, clock).run()
    assert idle.succeeded and idle.run.request_id is None and idle.run.kind == "manual"


class ProcedureKilled(BaseException):
    """The procedure's process killed mid-step (out of memory, a cancelled query): not an
    Exception, so no handler code runs after it and the runner records nothing more."""


class Crash:
    """Arms a crash for one run: after `after` calls of the wrapped seam, every later call of
    that run fails with `error` (all its retries too); `disarm` ends it."""

    def __init__(self, after: int, error: BaseException) -> None:
        self.after = after
        self.error = error
        self.calls = 0
        self.armed = False

    def disarm(self) -> None:
        self.armed = False

    def tick(self) -> None:
        if self.armed:
            self.calls += 1
            if self.calls > self.after:
                raise self.error

    def source(self, source: Any) -> Any:
        crash = self

        class Crashing:
            def open(self, relative_path: str, etag: str) -> Any:
                crash.tick()
                return source.open(relative_path, etag)

        return Crashing()

    def renderer(self, renderer: Any) -> Any:
        crash = self

        class Crashing:
            def render(self, requests: Sequence[RenderRequest]) -> list[dict[str, Any]]:
                rendered = renderer.render(requests)  # the service wrote the objects ...
                crash.tick()  # ... the procedure dies before it merges their rows
                return rendered

        return Crashing()


def thumbnail_objects(stack: LocalStack) -> list[str]:
    return [
        o["Key"]
        for page in stack.s3()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=stack.settings.thumbnails_bucket, Prefix="v1/")
        for o in page.get("Contents", [])
    ]


@pytest.mark.parametrize(
    "crash_run, seam, error",
    [
        # the first run of a load (day zero) killed while rendering: rows of the statement in
        # flight never merged, its thumbnail objects already written
        (1, "renderer", ProcedureKilled("render_thumbnails killed")),
        # a later backlog run whose extraction fails mid-batch on every attempt
        (2, "source", RuntimeError("extraction crashed")),
    ],
    ids=["killed-while-rendering-run-1", "step-error-while-extracting-run-2"],
)
def test_a_crash_in_the_middle_of_a_bounded_backlog_run_loses_and_duplicates_nothing(
    start_stack, crash_run: int, seam: str, error: BaseException
):
    """A bounded backlog run crashes mid-step (the procedure killed, or a step error on every
    attempt). The next run takes the files uploaded since first (a failed run commits nothing:
    its whole change set is discovered again, and must not starve them), and the next runs
    finish the backlog: every current version extracted once and rendered once after the
    crash, 0 lost, 0 duplicated (rows and thumbnail objects), the discovery state at the
    bucket's."""
    stack = start_stack()
    load = {f"load/{i:05d}.png": tiny_png(i) for i in range(2 * BATCH_ROWS)}
    upload_many(stack, load)
    clock = SimulatedClock()
    # the renderer: its first statement (a run's 100 files are one, fewer than statement_rows);
    # the source: a fifth into its batch
    crash = Crash(after=0 if seam == "renderer" else BATCH_ROWS // 5, error=error)
    runner = timed_runner(
        stack,
        clock,
        wrap_byte_source=crash.source if seam == "source" else None,
        wrap_renderer=crash.renderer if seam == "renderer" else None,
    )
    before_crash = {f"before/{i}.png": tiny_png(50_000 + i) for i in range(3)}
    after_crash = {f"after/{i}.png": tiny_png(55_000 + i) for i in range(3)}

    for _ in range(crash_run - 1):
        assert runner.run(kind="scheduled").succeeded
    state_before = query(stack, "select relative_path, etag from raw.directory_state")
    upload_many(stack, before_crash)  # the crashing run discovers them
    crash.armed = True
    try:
        crashed = runner.run(kind="scheduled")
        assert crashed.run.state == "FAILED"
        assert "extraction crashed" in (crashed.run.error_message or "")
    except ProcedureKilled:
        assert isinstance(error, ProcedureKilled)
    crash.disarm()
    assert crash.calls > crash.after  # it crashed in the middle of the step
    # a failed or killed run does not advance the discovery state
    assert query(stack, "select relative_path, etag from raw.directory_state") == state_before
    extracted_by_then = query(stack, "select count(*) as n from raw.file_metadata")[0]["N"]
    rendered_by_then = query(
        stack, "select count(distinct relative_path || etag) as n from raw.thumbnails"
    )[0]["N"]
    assert 0 < extracted_by_then < len(load)
    upload_many(stack, after_crash)

    reports = [runner.run(kind="scheduled")]
    assert reports[0].succeeded, reports[0].run.error_message
    # the uploads made since the backlog began are done by the next run, backlog or not
    uploads = set(before_crash) | set(after_crash)
    rows = query(stack, "select relative_path, status from raw.file_metadata")
    assert uploads <= {r["RELATIVE_PATH"] for r in rows if r["STATUS"] == "ok"}
    thumbs = query(stack, "select relative_path from raw.thumbnails where status = 'ok'")
    assert all(sum(t["RELATIVE_PATH"] == path for t in thumbs) == 2 for path in uploads)
    assert summary(reports[0], "extract_metadata").details["backlog"] > 0  # still draining
    while (
        summary(reports[-1], "extract_metadata").details["backlog"]
        or summary(reports[-1], "render_thumbnails").details["backlog"]
    ):
        assert len(reports) < 8
        reports.append(runner.run(kind="scheduled"))
        assert reports[-1].succeeded, reports[-1].run.error_message

    current = bucket_versions(stack)
    assert len(current) == len(load) + len(uploads)
    # 0 lost, 0 duplicated: one metadata row per current version, two thumbnails, one object
    # per thumbnail row and none without a row (the killed batch's objects were re-rendered to
    # the same content-addressed keys)
    metadata = query(stack, "select relative_path, etag, status from raw.file_metadata")
    assert sorted((r["RELATIVE_PATH"], r["ETAG"]) for r in metadata) == sorted(current.items())
    assert {r["STATUS"] for r in metadata} == {"ok"}
    thumbnails = query(
        stack, "select relative_path, etag, size_px, status, thumbnail_key from raw.thumbnails"
    )
    assert sorted((r["RELATIVE_PATH"], r["ETAG"], r["SIZE_PX"]) for r in thumbnails) == sorted(
        (path, etag, size) for path, etag in current.items() for size in (256, 1024)
    )
    objects = thumbnail_objects(stack)
    assert sorted(objects) == sorted(r["THUMBNAIL_KEY"] for r in thumbnails)
    # nothing re-done after the crash: the later runs took exactly what was not done by then
    assert sum(summary(r, "extract_metadata").files_in for r in reports) == (
        len(current) - extracted_by_then
    )
    assert sum(summary(r, "render_thumbnails").files_in for r in reports) == (
        len(current) - rendered_by_then
    )
    state = query(stack, "select relative_path, etag from raw.directory_state")
    assert {r["RELATIVE_PATH"]: r["ETAG"] for r in state} == current
    assert query(stack, "select count(*) as n from raw.file_retries")[0]["N"] == 0
