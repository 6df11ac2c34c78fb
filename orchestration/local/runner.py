"""The local runner: walks orchestration.graph like Snowflake's task graph would.

Same order, retries with backoff, no overlap (a second run is recorded as SKIPPED), the same
finalizer procedure handler (it records the run in OPS.PIPELINE_RUNS and advances the discovery
state only when every step succeeded), backfills and reconciliations as requests in
ops.run_requests that runs drain, and Snowflake's two limits on a graph:

- USER_TASK_TIMEOUT_MS: each step attempt is measured against the pipeline's step timeout with
  the clock seam (the same one the bounded steps use). A Python thread cannot be interrupted, so
  a step that overran is recorded FAILED ("timed out") after it returns; the merges it committed
  are kept, as a Snowflake task cancelled at its timeout keeps the statements it committed. A
  timeout is a failure, retried like one (TASK_AUTO_RETRY_ATTEMPTS retries a FAILED graph).
- SUSPEND_TASK_AFTER_NUM_FAILURES: after a run, consecutive failed runs of the graph since it
  was last resumed are counted from OPS.PIPELINE_RUNS (skipped ones don't count; any kind of
  run counts: "the run of any single task in a task graph fails or times out the specified
  number of times in consecutive runs", "CREATE TASK",
  https://docs.snowflake.com/en/sql-reference/sql/create-task); at the threshold the graph is
  marked SUSPENDED in ops.graph_state. The scheduler then starts no run; `pixelforge resume`
  (SYSTEM$TASK_DEPENDENTS_ENABLE in production) starts it again. A run started by hand still
  runs, as EXECUTE TASK runs a suspended root once.

It copies Snowflake's task-graph protocol on purpose, and is one module (~400 lines) because
that protocol is one state machine: a run (no overlap, the request queue), its steps (attempts,
timeouts), the finalizer and the suspension count read and write the same run records. What
is not the protocol lives apart: the retry policy (step_policy), dbt (dbt_command), the
directory tables (directory_table), the renderer (external_function), settings (settings).
"""

from __future__ import annotations

import fcntl
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from snowflake.snowpark import Session

from orchestration.graph import INCREMENTAL, DbtStep, Pipeline, Step
from orchestration.history import (
    PipelineRun,
    RunKind,
    StepRun,
    consecutive_failed_runs,
    graph_status,
    record_pipeline_run,
    record_step_run,
    set_graph_state,
    utc_now,
)
from orchestration.local.dbt_command import build_step
from orchestration.local.directory_table import refresh_directory
from orchestration.local.external_function import HttpRenderer
from orchestration.local.s3_byte_source import S3ByteSource
from orchestration.local.stack import LocalStack
from orchestration.local.step_policy import StepTimeoutError, backoff_s, is_retryable
from orchestration.sql import read_sql
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS
from snowpark_procs.byte_sources import ByteSource
from snowpark_procs.handlers import HANDLERS, Seams
from snowpark_procs.rendering import ThumbnailRenderer
from snowpark_procs.run_config import RunConfig
from snowpark_procs.steps.bounded import Progress
from snowpark_procs.steps.common import StepSummary
from snowpark_procs.steps.extractors import RowByRowExtractor
from snowpark_procs.steps.finalize import GraphRun, StepResult, finalize_with, run_counts
from snowpark_procs.steps.run_requests import request_run, run_config_for

# A hook the fault-injection tests use: called as hook(step_name, phase) with phase
# "before" or "after"; whatever it raises is a failure of that step attempt.
FaultHook = Callable[[str, str], None]
Echo = Callable[[str], None]


# How many of a run's file versions each dbt step passed (valid) or held back (quarantined).
FILE_COUNT_SQL = {"validate": "count_validated_files", "load": "count_loaded_files"}


# How long a backfill or reconciliation waits for a running graph (EXECUTE TASK queues too).
QUEUE_TIMEOUT_S = 30 * 60.0


@dataclass(frozen=True)
class StepOutcome:
    step_run: StepRun
    summary: StepSummary | None


@dataclass(frozen=True)
class RunReport:
    run: PipelineRun
    steps: tuple[StepOutcome, ...]
    latency_s: tuple[float, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.run.state == "SUCCEEDED"


def new_run_id(scheduled_at: datetime) -> str:
    return f"{scheduled_at:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"


class LocalRunner:
    def __init__(
        self,
        stack: LocalStack,
        pipeline: Pipeline = INCREMENTAL,
        echo: Echo | None = None,
        fault_hook: FaultHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        dbt_target: str = "local",
        queue_timeout_s: float = QUEUE_TIMEOUT_S,
        wrap_byte_source: Callable[[ByteSource], ByteSource] | None = None,
        wrap_renderer: Callable[[ThumbnailRenderer], ThumbnailRenderer] | None = None,
        clock: Callable[[], float] = time.monotonic,
        mirror_object_store: bool = True,
        extract_batch_rows: int = EXTRACT_BATCH_ROWS,
    ) -> None:
        self._stack = stack
        self._pipeline = pipeline
        self._echo = echo or (lambda _message: None)
        self._fault_hook = fault_hook
        self._sleep = sleep
        self._dbt_target = dbt_target
        self._queue_timeout_s = queue_timeout_s
        # fault-injection seams for tests: wrap the read seam or the renderer
        self._wrap_byte_source = wrap_byte_source or (lambda source: source)
        self._wrap_renderer = wrap_renderer or (lambda renderer: renderer)
        # seconds, for step timeouts and the bounded steps' budgets (tests scale time with it)
        self._clock = clock
        # the graph CONFIG's extraction batch (orchestration/deploy/tasks.py graph_config)
        self._extract_batch_rows = extract_batch_rows
        # the buckets' mirror on disk, for a stack restarted later (tests that never restart
        # theirs can skip it: it downloads every new object)
        self._mirror_object_store = mirror_object_store
        self._rng = random.Random()

    # --- requests and the graph's state -------------------------------------------------

    def request(self, config: RunConfig) -> str:
        """Queue a backfill or reconciliation in ops.run_requests (what OPS.BACKFILL and the
        nightly task do in production); the next run of the graph serves it."""
        with self._stack.session() as session:
            return self._request(session, config)

    def _request(self, session: Session, config: RunConfig) -> str:
        request_id = request_run(session, config, str(uuid.uuid4()))
        self._echo(f"request {request_id} queued ({config.mode})")
        return request_id

    def graph_suspended(self) -> bool:
        with self._stack.session() as session:
            return graph_status(session, self._pipeline.name).suspended

    def resume(self) -> None:
        """SYSTEM$TASK_DEPENDENTS_ENABLE: the scheduler starts runs again; the failure count
        starts over."""
        with self._stack.session() as session:
            set_graph_state(session, self._pipeline.name, "STARTED", "resumed by an operator")

    def _enforce_suspension(self, session: Session) -> None:
        threshold = self._pipeline.suspend_after_failures
        status = graph_status(session, self._pipeline.name)
        if threshold <= 0 or status.suspended:
            return
        failures = consecutive_failed_runs(session, status.changed_at, threshold)
        if failures >= threshold:
            reason = (
                f"{failures} consecutive failed runs "
                f"(SUSPEND_TASK_AFTER_NUM_FAILURES = {threshold})"
            )
            set_graph_state(session, self._pipeline.name, "SUSPENDED", reason)
            self._echo(f"graph {self._pipeline.name} suspended: {reason}")

    # --- one run -----------------------------------------------------------------------

    def run(
        self,
        kind: RunKind = "manual",
        scheduled_at: datetime | None = None,
        config: RunConfig | None = None,
    ) -> RunReport:
        """One run of the graph. A backfill or reconcile `config` is first queued as a request
        (then the run serves the oldest pending request, as every run of the graph does)."""
        requested = config or RunConfig()
        graph_config = RunConfig(
            step_budget_s=self._pipeline.step_budget_s,
            extract_batch_rows=self._extract_batch_rows,
        )
        scheduled = scheduled_at or utc_now()
        run = PipelineRun(
            new_run_id(scheduled),
            kind,
            scheduled,
            "EXECUTING",
            started_at=utc_now(),
            config=json.loads(graph_config.to_json()),
        )
        # Scheduled runs are skipped while another runs (OVERLAP_POLICY = NO_OVERLAP);
        # backfills and reconciliations queue behind it, as EXECUTE TASK does.
        wait_s = 0.0 if kind in {"scheduled", "manual"} else self._queue_timeout_s
        try:
            with self._stack.session() as session:
                if requested.mode != "incremental":
                    self._request(session, requested)
                with self._no_overlap(wait_s) as acquired:
                    if not acquired:
                        skipped = run.finished(
                            "SKIPPED",
                            "another run of the pipeline was executing"
                            + (
                                "; its request stays queued"
                                if requested.mode != "incremental"
                                else ""
                            ),
                        )
                        record_pipeline_run(session, skipped)
                        self._echo(f"run {run.run_id} skipped: another run is executing")
                        return RunReport(skipped, ())
                    report = self._run_graph(session, run, graph_config)
        except Exception as error:  # the warehouse itself failed: not even history is writable
            message = f"run aborted, the warehouse failed: {type(error).__name__}: {error}"
            self._echo(message[:500])
            return RunReport(run.finished("FAILED", message[:4000]), ())
        if not self._mirror_object_store:
            return report
        try:
            self._stack.save_object_store()
        except Exception as error:  # S3 down: the mirror catches up after the next run
            self._echo(f"could not save the object store mirror: {error}")
        return report

    def _run_graph(self, session: Session, run: PipelineRun, graph_config: RunConfig) -> RunReport:
        record_pipeline_run(session, run)
        self._echo(
            f"run {run.run_id} ({run.kind}, scheduled {run.scheduled_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
        outcomes: list[StepOutcome] = []
        for step in self._pipeline.ordered_steps():
            outcome = self._run_step(
                session,
                run.run_id,
                step.name,
                # each step serves the request discover claimed, if any (as in production)
                partial(self._execute, session, run.run_id, step, graph_config),
            )
            outcomes.append(outcome)
            if outcome.step_run.state != "SUCCEEDED":
                break
        graph_run = self._graph_run(run, outcomes)
        finalizer = self._run_step(
            session,
            run.run_id,
            self._pipeline.finalizer.name,
            # the production finalizer's handler, given the outcomes instead of TASK_HISTORY
            lambda: finalize_with(
                session, graph_run, run_config_for(session, run.run_id, graph_config)
            ),
        )
        outcomes.append(finalizer)
        if finalizer.summary is not None:
            finished = PipelineRun.from_record(finalizer.summary.details["run"])
        else:  # the finalizer itself failed: the run did, whatever its steps did
            message = f"finalizer failed: {finalizer.step_run.error_message}"
            finished = run.finished("FAILED", message[:4000], **run_counts(graph_run))
            record_pipeline_run(session, finished)
        self._enforce_suspension(session)
        loads_marts = any(isinstance(step, DbtStep) for step in self._pipeline.steps)
        succeeded = finished.state == "SUCCEEDED"
        latency = self._latencies(session, run.run_id) if succeeded and loads_marts else ()
        return RunReport(finished, tuple(outcomes), latency)

    def _graph_run(self, run: PipelineRun, outcomes: list[StepOutcome]) -> GraphRun:
        """The finalizer's view of this run: what TASK_HISTORY says of it in production."""
        return GraphRun(
            run_id=run.run_id,
            trigger_kind=run.kind,
            scheduled_at=run.scheduled_at,
            started_at=run.started_at,
            expected=tuple(step.name for step in self._pipeline.ordered_steps()),
            results=tuple(
                StepResult(
                    o.step_run.step,
                    o.step_run.state == "SUCCEEDED",
                    o.summary,
                    o.step_run.error_message,
                )
                for o in outcomes
            ),
        )

    @contextmanager
    def _no_overlap(self, wait_s: float) -> Iterator[bool]:
        """Snowflake's OVERLAP_POLICY = NO_OVERLAP: one run of the graph at a time."""
        lock_path = self._stack.settings.data_dir / f"{self._pipeline.name}.run.lock"
        deadline = time.monotonic() + wait_s
        with lock_path.open("w") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(1.0)
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # --- one step, with retries --------------------------------------------------------

    def _run_step(
        self,
        session: Session,
        run_id: str,
        name: str,
        execute: Callable[[], StepSummary],
    ) -> StepOutcome:
        policy = self._pipeline.retry
        timeout_s = self._pipeline.step_timeout_s
        attempt = 1
        while True:
            step_run = StepRun(run_id, name, attempt, "EXECUTING", started_at=utc_now())
            record_step_run(session, step_run)
            self._echo(f"  {name}: attempt {attempt} ...")
            started = self._clock()
            try:
                if self._fault_hook:
                    self._fault_hook(name, "before")
                session.query_tag = name  # the statement log attributes it to the step
                summary = execute()
                if self._fault_hook:
                    self._fault_hook(name, "after")
                elapsed = self._clock() - started
                if elapsed > timeout_s:
                    raise StepTimeoutError(name, elapsed, timeout_s)
            except Exception as error:  # a step attempt fails as a whole; recorded, then retried
                message = f"{type(error).__name__}: {error}"[:4000]
                failed = replace(
                    step_run, state="FAILED", ended_at=utc_now(), error_message=message
                )
                record_step_run(session, failed)
                self._echo(f"  {name}: attempt {attempt} failed: {message[:300]}")
                if attempt >= policy.max_attempts or not is_retryable(error):
                    return StepOutcome(failed, None)
                self._sleep(backoff_s(policy, attempt, self._rng))
                attempt += 1
                continue
            done = replace(
                step_run,
                state="SUCCEEDED",
                ended_at=utc_now(),
                files_in=summary.files_in,
                files_succeeded=summary.files_succeeded,
                files_failed=summary.files_failed,
            )
            record_step_run(session, done)
            left = summary.details.get("backlog")  # a bounded step's: how far it got
            if left is not None and (summary.files_in or left):
                progress = Progress(summary.files_in, int(left), elapsed)
                self._echo(f"  {name}: {progress.line()}")
            return StepOutcome(done, summary)

    def _execute(self, session: Session, run_id: str, step: Step, config: RunConfig) -> StepSummary:
        if isinstance(step, DbtStep):
            return self._run_dbt(session, run_id, step)
        handler = HANDLERS[step.handler]
        if handler.step is None:
            raise ValueError(f"no local implementation for handler {step.handler!r}")
        return handler.step(session, run_id, config, self._seams(session))

    def _seams(self, session: Session) -> Seams:
        """The production handlers' seams, in their loopback form."""
        settings = self._stack.settings

        def refresh_directories(mode: str) -> None:
            # auto-refresh: Snowflake keeps the directory table current from S3 events; the
            # nightly reconciliation re-lists the thumbnails stage before it requests its run
            refresh_directory(session, self._stack.s3(), settings.designs_bucket, "designs")
            if mode == "reconcile":
                refresh_directory(
                    session, self._stack.s3(), settings.thumbnails_bucket, "thumbnails"
                )

        return Seams(
            # fakesnow cannot register the extraction UDF: its handler runs here, row by row
            extractor=lambda: RowByRowExtractor(
                self._wrap_byte_source(S3ByteSource(self._stack.s3(), settings.designs_bucket))
            ),
            renderer=lambda: self._wrap_renderer(HttpRenderer(settings.render_url)),
            clock=self._clock,
            refresh_directories=refresh_directories,
        )

    # --- dbt ---------------------------------------------------------------------------

    def _run_dbt(self, session: Session, run_id: str, step: DbtStep) -> StepSummary:
        # the production task's arguments (DbtStep.build_args), local paths
        run = build_step(self._stack.settings, step, self._dbt_target)
        nodes = {"nodes": len(run.results), "by_status": run.by_status()}
        return self._file_counts(session, run_id, step, nodes)

    def _file_counts(
        self, session: Session, run_id: str, step: DbtStep, details: dict[str, Any]
    ) -> StepSummary:
        sql_name = FILE_COUNT_SQL[step.name]
        row = session.sql(read_sql(sql_name), params=[run_id]).collect()[0]
        total, valid = int(row["FILES"] or 0), int(row["VALID_FILES"] or 0)
        return StepSummary(total, valid, total - valid, details)

    def _latencies(self, session: Session, run_id: str) -> tuple[float, ...]:
        rows = session.sql(read_sql("select_run_latencies"), params=[run_id]).collect()
        return tuple(float(row["LATENCY_S"]) for row in rows if row["LATENCY_S"] is not None)
