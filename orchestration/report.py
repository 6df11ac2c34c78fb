"""Terminal output of runs and history (rich tables)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.table import Table

from orchestration.history import PipelineRun, StepRun
from orchestration.local.runner import RunReport
from orchestration.local.stack import LocalStack

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


def _run_title(run: PipelineRun) -> str:
    duration = (
        (run.ended_at - run.started_at).total_seconds() if run.ended_at and run.started_at else None
    )
    return (
        f"run {run.run_id} · {run.kind} · scheduled {run.scheduled_at:%Y-%m-%d %H:%M} UTC · "
        f"{_state(run.state)} · {_seconds(duration)}"
    )


def steps_table(title: str, steps: Sequence[StepRun]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("step", no_wrap=True)
    table.add_column("try", justify="right")
    table.add_column("state", no_wrap=True)
    for column in ("in", "ok", "failed", "duration"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("error", overflow="fold")
    for step in steps:
        table.add_row(
            step.step,
            str(step.attempt),
            _state(step.state),
            _count(step.files_in),
            _count(step.files_succeeded),
            _count(step.files_failed),
            _seconds(step.duration_s),
            (step.error_message or "")[:200],
        )
    return table


def print_run_report(console: Console, report: RunReport) -> None:
    run = report.run
    console.print(steps_table(_run_title(run), [o.step_run for o in report.steps]))
    if run.error_message:
        console.print(f"[red]error:[/] {run.error_message}")
    summaries = {o.step_run.step: o.summary for o in report.steps if o.summary is not None}
    if (discover := summaries.get("discover")) is not None:
        changes = discover.details.get("changes", {})
        console.print(
            "changes: " + (", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or "none")
        )
    if checks := (discover.details.get("reconciliation") if discover else None):
        console.print("reconciliation: " + ", ".join(f"{k} {v}" for k, v in checks.items()))
    if (extract := summaries.get("extract_metadata")) is not None and extract.files_failed:
        reasons = extract.details.get("failures_by_reason", {})
        console.print(
            "unreadable files (quarantined): "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        )
    if report.succeeded:
        console.print(f"upload -> queryable: {latency_summary(report.latency_s)}")


def print_history(console: Console, runs: Sequence[tuple[PipelineRun, Sequence[StepRun]]]) -> None:
    if not runs:
        console.print("no runs yet")
    for run, steps in runs:
        console.print(steps_table(_run_title(run), steps))
        if run.error_message:
            console.print(f"[red]error:[/] {run.error_message}")


def print_alerts_after(
    console: Console, stack: LocalStack, run: PipelineRun, echo: Callable[[str], None]
) -> None:
    """The runner host's duty after a run: heartbeat metric, then every alert rule."""
    from orchestration.local.alerting import alert_after_run

    try:
        report = alert_after_run(stack, run, echo=echo)
    except Exception as error:  # alerting must never hide the run's own outcome
        console.print(f"[yellow]alerts could not be evaluated:[/] {error}")
        return
    names = [evaluation.rule.name for evaluation in report.firing]
    console.print(f"alerts: {len(names)} firing" + (f": {', '.join(names)}" if names else ""))
