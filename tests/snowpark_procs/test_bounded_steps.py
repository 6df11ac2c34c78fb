"""The pure cores of bounded steps and of the finalizer: draining a pending set under a time
budget (with a simulated clock), and reading a graph run from TASK_HISTORY rows."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path

import pytest

import snowpark_procs.steps
from snowpark_procs.run_config import RunConfig, RunConfigError
from snowpark_procs.steps import bounded, common
from snowpark_procs.steps import finalize as finalizer
from snowpark_procs.steps.bounded import Budget, drain
from snowpark_procs.steps.common import StepError, StepSummary, task_summary
from snowpark_procs.steps.finalize import (
    GraphRun,
    GraphSettings,
    StepResult,
    graph_run_from_task_history,
    pipeline_run_record,
    run_kind,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PendingSet:
    """A pending set served in pages, most urgent first; processing an item takes `cost_s`."""

    def __init__(self, items: int, clock: Clock, cost_s: float) -> None:
        self.pending = list(range(items))
        self.done: list[int] = []
        self.fetches = 0
        self.clock = clock
        self.cost_s = cost_s

    def fetch(self, page_rows: int) -> tuple[list[int], int]:
        self.fetches += 1
        return self.pending[:page_rows], len(self.pending)

    def process(self, batch: list[int]) -> None:
        self.clock.now += self.cost_s * len(batch)
        self.done += batch
        self.pending = [i for i in self.pending if i not in batch]


def test_drain_stops_taking_batches_when_the_budget_is_spent():
    clock = Clock()
    pending = PendingSet(100, clock, cost_s=1.0)

    drained = drain(lambda: pending.fetch(50), pending.process, 10, 50, Budget(25.0, clock))

    # batches start at 0, 10, 20 s; the one started at 20 s is finished, then no new one
    assert drained == bounded.Drained(attempted=30, backlog=70, stopped_by_budget=True)
    assert pending.done == list(range(30))  # most urgent first, nothing twice


def test_drain_takes_at_least_one_batch_and_reads_more_pages_while_time_is_left():
    clock = Clock()
    pending = PendingSet(25, clock, cost_s=1.0)
    clock.now = 0.0
    spent = Budget(0.001, clock)
    clock.now = 5.0  # the budget is already gone when the step starts

    first = drain(lambda: pending.fetch(10), pending.process, 4, 10, spent)

    assert (first.attempted, first.backlog, first.stopped_by_budget) == (4, 21, True)
    rest = drain(lambda: pending.fetch(10), pending.process, 4, 10, Budget(None, clock))
    assert rest == bounded.Drained(attempted=21, backlog=0, stopped_by_budget=False)
    assert pending.fetches == 1 + 3  # pages of 10, 10, then the last 1
    assert sorted(pending.done) == list(range(25))


def test_drain_of_nothing_pending():
    clock = Clock()
    pending = PendingSet(0, clock, cost_s=1.0)
    assert drain(lambda: pending.fetch(10), pending.process, 4, 10, Budget(1.0, clock)) == (
        bounded.Drained(0, 0, False)
    )


def test_the_budget_comes_from_the_graph_config():
    config = RunConfig.from_json(json.dumps({"mode": "incremental", "step_budget_s": 300}))
    assert config.step_budget_s == 300.0
    with pytest.raises(RunConfigError, match="positive number"):
        RunConfig.from_json(json.dumps({"step_budget_s": 0}))


SETTINGS = GraphSettings(
    "pixelforge",
    {
        "root": "PIXELFORGE_ROOT",
        "discover": "PIXELFORGE_DISCOVER",
        "extract_metadata": "PIXELFORGE_EXTRACT_METADATA",
        "load": "PIXELFORGE_LOAD",
    },
    "pixelforge_heartbeat",
)
T0 = datetime(2026, 11, 26, 10, 0)


def _row(name: str, state: str, attempt: int = 1, **extra: object) -> dict[str, object]:
    return {
        "NAME": name,
        "STATE": state,
        "ATTEMPT_NUMBER": attempt,
        "RETURN_VALUE": None,
        "ERROR_MESSAGE": None,
        "SCHEDULED_FROM": "SCHEDULE",
        "SCHEDULED_TIME": T0,
        "QUERY_START_TIME": T0,
        **extra,
    }


def test_a_graph_run_from_task_history_succeeds_when_every_task_did():
    extract = StepSummary(10, 8, 2, {"backlog": 5})
    rows = [
        _row("PIXELFORGE_ROOT", "SUCCEEDED"),
        _row("PIXELFORGE_DISCOVER", "SUCCEEDED", RETURN_VALUE=StepSummary(12, 12, 0).to_json()),
        # failed once, succeeded on the automatic retry (a new attempt of the graph run)
        _row("PIXELFORGE_EXTRACT_METADATA", "FAILED", ERROR_MESSAGE="timed out"),
        _row("PIXELFORGE_EXTRACT_METADATA", "SUCCEEDED", 2, RETURN_VALUE=extract.to_json()),
        _row("PIXELFORGE_LOAD", "SUCCEEDED", 2),
    ]

    run = graph_run_from_task_history("g1", rows, SETTINGS)

    assert run.failure() is None
    assert (run.trigger_kind, run.scheduled_at) == ("scheduled", T0)
    assert run.summary("extract_metadata") == extract
    assert finalizer.run_counts(run) == {
        "files_discovered": 12,
        "files_succeeded": 8,
        "files_failed": 2,
    }


def test_a_graph_run_fails_at_its_failed_task_and_is_manual_when_executed():
    rows = [
        _row("PIXELFORGE_ROOT", "SUCCEEDED", SCHEDULED_FROM="EXECUTE_TASK"),
        _row("PIXELFORGE_DISCOVER", "SUCCEEDED"),
        _row("PIXELFORGE_EXTRACT_METADATA", "FAILED", ERROR_MESSAGE="User task timed out"),
    ]

    run = graph_run_from_task_history("g1", rows, SETTINGS)

    assert run.failure() == "step extract_metadata failed: User task timed out"
    assert run.trigger_kind == "manual"


def test_a_graph_run_without_its_root_row_is_an_error():
    with pytest.raises(StepError, match="PIXELFORGE_ROOT"):
        graph_run_from_task_history("g1", [_row("PIXELFORGE_DISCOVER", "SUCCEEDED")], SETTINGS)


def test_graph_settings_need_the_task_names():
    assert GraphSettings.from_json(json.dumps({"tasks": SETTINGS.task_names})).task_names == (
        SETTINGS.task_names
    )
    with pytest.raises(RunConfigError, match="names no tasks"):
        GraphSettings.from_json(json.dumps({"mode": "incremental"}))


@pytest.mark.parametrize(
    ("trigger", "mode", "kind"),
    [
        ("scheduled", "incremental", "scheduled"),
        ("manual", "incremental", "manual"),
        ("scheduled", "backfill", "backfill"),
        ("scheduled", "reconcile", "reconcile"),
        # a CLI backfill whose run found its request already served by an earlier run
        ("backfill", "incremental", "manual"),
    ],
)
def test_a_run_is_of_the_kind_it_served(trigger, mode, kind):
    assert run_kind(trigger, mode) == kind


def test_the_pipeline_run_record():
    run = GraphRun(
        "g1",
        "scheduled",
        T0,
        T0,
        ("discover",),
        (StepResult("discover", False, None, "boom"),),
    )
    config = RunConfig("reconcile", request_id="r1", step_budget_s=300.0)

    record = pipeline_run_record(run, config, run.failure(), T0)

    assert record["kind"] == "reconcile"
    assert record["state"] == "FAILED"
    assert record["error_message"] == "step discover failed: boom"
    assert record["request_id"] == "r1"
    assert record["config"]["mode"] == "reconcile"
    assert record["ended_at"] == "2026-11-26 10:00:00"


def test_a_task_summary_fits_in_a_return_value():
    small = StepSummary(3, 2, 1, {"backlog": 7})
    assert task_summary(small) == small.to_json()
    reasons = {f"reason_{i}": i for i in range(2000)}
    big = StepSummary(3, 2, 1, {"backlog": 7, "failures_by_reason": reasons})
    kept = json.loads(task_summary(big))
    assert len(task_summary(big).encode()) <= common.MAX_RETURN_VALUE_BYTES
    assert kept["details"] == {"backlog": 7, "details_truncated": True}
    assert (kept["files_in"], kept["files_failed"]) == (3, 1)


def test_security_step_errors_name_no_file():
    """A step's error becomes the task's ERROR_MESSAGE, sent by the root's ERROR_INTEGRATION to
    SNS and on by email: counts and reason codes only, never a relative path."""
    assert common.tally(["renderer_unavailable", "RequestTimeout", "renderer_unavailable"]) == (
        "renderer_unavailable x2, RequestTimeout x1"
    )
    steps = Path(snowpark_procs.steps.__file__).parent
    raised = [
        node.exc
        for module in sorted(steps.glob("*.py"))
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and getattr(node.exc.func, "id", None) == "StepError"
    ]
    assert raised
    for call in raised:
        names = {n.attr for n in ast.walk(call) if isinstance(n, ast.Attribute)} | {
            n.id for n in ast.walk(call) if isinstance(n, ast.Name)
        }
        assert not {n for n in names if "path" in n.lower() or n == "message"}, ast.unparse(call)


def test_progress_of_a_bounded_step_says_done_left_rate_and_eta():
    progress = bounded.Progress(done=500, left=1_250, seconds=62.5)
    assert progress.files_per_s == 8.0
    assert progress.eta_s == 156.25
    assert progress.runs_left == 3
    assert progress.line() == (
        "500 done, 1,250 left, 8.0 files/s; ETA 2 min 36 s of step time (~3 more runs)"
    )
    assert bounded.Progress(done=40, left=0, seconds=5).line() == "40 done, none left, 8.0 files/s"
    assert bounded.Progress(done=40, left=30, seconds=5).line().endswith("(~1 more run)")
    # nothing taken (or no time measured): no pace, so no ETA is made up
    idle = bounded.Progress(done=0, left=10, seconds=0)
    assert idle.files_per_s is None and idle.eta_s is None and idle.runs_left is None
    assert idle.line() == "0 done, 10 left"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.4, "0 s"),
        (59.4, "59 s"),
        (61, "1 min 01 s"),
        (3_599, "59 min 59 s"),
        (3_600 * 2 + 7 * 60 + 20, "2 h 07 min"),
        (3_600 * 47, "47 h 00 min"),
        (3_600 * 76, "3 d 04 h"),
    ],
)
def test_durations_read_by_people(seconds, text):
    assert bounded.duration_text(seconds) == text
