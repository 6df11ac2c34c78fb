"""Terminal output of a run and of the run history (the tables are in orchestration/tables.py)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from rich.console import Console

from orchestration.history import PipelineRun, StepRun
from orchestration.local.runner import RunReport
from orchestration.local.stack import LocalStack
from orchestration.tables import steps_table


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
    console.print(steps_table(run, [o.step_run for o in report.steps]))
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
        console.print(steps_table(run, steps))
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
