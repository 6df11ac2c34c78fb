"""Terminal output of runs and history (rich tables)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from orchestration.history import PipelineRun, StepRun
from orchestration.local.runner import RunReport

STATE_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "SKIPPED": "yellow", "EXECUTING": "cyan"}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _state(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"


def latency_summary(latencies: Sequence[float]) -> str:
    if not latencies:
        return "no files loaded"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{len(ordered)} files, p50 {statistics.median(ordered):.1f} s, "
        f"p95 {p95:.1f} s, max {ordered[-1]:.1f} s"
    )


def print_run_report(console: Console, report: RunReport) -> None:
    run = report.run
    duration = (
        (run.ended_at - run.started_at).total_seconds() if run.ended_at and run.started_at else None
    )
    table = Table(
        title=f"run {run.run_id} · {run.kind} · {_state(run.state)} · {_seconds(duration)}",
        title_justify="left",
    )
    for column in ("step", "attempt", "state", "files in", "succeeded", "failed", "duration"):
        table.add_column(column, justify="left" if column in {"step", "state"} else "right")
    for outcome in report.steps:
        step = outcome.step_run
        table.add_row(
            step.step,
            str(step.attempt),
            _state(step.state),
            _count(step.files_in),
            _count(step.files_succeeded),
            _count(step.files_failed),
            _seconds(step.duration_s),
        )
    console.print(table)
    if run.error_message:
        console.print(f"[red]error:[/] {run.error_message}")
    discover = next((o.summary for o in report.steps if o.step_run.step == "discover"), None)
    if discover is not None:
        changes = discover.details.get("changes", {})
        console.print(
            "changes: " + (", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or "none")
        )
    if report.succeeded:
        console.print(f"upload -> queryable: {latency_summary(report.latency_s)}")


def print_history(console: Console, runs: Sequence[tuple[PipelineRun, Sequence[StepRun]]]) -> None:
    table = Table(title="pipeline runs, newest first", title_justify="left")
    for column in (
        "run / step",
        "kind",
        "state",
        "scheduled (UTC)",
        "discovered / in",
        "succeeded",
        "failed",
        "duration",
        "error",
    ):
        table.add_column(column)
    for run, steps in runs:
        duration = (
            (run.ended_at - run.started_at).total_seconds()
            if run.ended_at and run.started_at
            else None
        )
        table.add_row(
            f"[bold]{run.run_id}[/]",
            run.kind,
            _state(run.state),
            f"{run.scheduled_at:%Y-%m-%d %H:%M:%S}",
            _count(run.files_discovered),
            _count(run.files_succeeded),
            _count(run.files_failed),
            _seconds(duration),
            (run.error_message or "")[:80],
        )
        for step in steps:
            table.add_row(
                f"  {step.step} #{step.attempt}",
                "",
                _state(step.state),
                "",
                _count(step.files_in),
                _count(step.files_succeeded),
                _count(step.files_failed),
                _seconds(step.duration_s),
                (step.error_message or "")[:80],
            )
    console.print(table)
