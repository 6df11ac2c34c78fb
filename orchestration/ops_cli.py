"""Operator commands: `pixelforge status · failures · explain <path> · alerts`.

`status` starts with the graph's state: SUSPENDED after SUSPEND_TASK_AFTER_NUM_FAILURES
consecutive failed runs (the local runner enforces it; production: SHOW TASKS' state).

They read the ops views (ops_marts, dbt selector `ops`) with the queries in
orchestration/sql/ops_*.sql, which are plain Snowflake SQL: point a session at production and
the same queries answer there. Registered on the main app by `register(app)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from snowflake.snowpark import Session

from orchestration.graph import INCREMENTAL
from orchestration.history import GraphStatus, graph_status
from orchestration.local.alerting import (
    AlertEvaluation,
    OpsViewsError,
    alert_after_run,
    ensure_ops_views,
    evaluate_alerts,
)
from orchestration.local.stack import LocalStack, StackError, StackSettings
from orchestration.sql import read_sql

console = Console()

STATE_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "SKIPPED": "yellow", "EXECUTING": "cyan"}
STAGE_STYLE = {"queryable": "green", "quarantined": "yellow", "deleted": "dim"}

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder of the embedded stack's state (default: $PIXELFORGE_DATA_DIR or .pixelforge)."
    ),
]

Row = dict[str, Any]


def query(session: Session, name: str, params: Sequence[Any] = ()) -> list[Row]:
    """Rows of orchestration/sql/<name>.sql as dicts with lower-case keys."""
    rows = session.sql(read_sql(name), params=list(params)).collect()
    return [{k.lower(): v for k, v in row.as_dict().items()} for row in rows]


# --- formatting (pure: rows in, rich renderables out) ----------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _styled(value: Any, styles: dict[str, str]) -> str:
    text = _text(value)
    style = styles.get(text)
    return f"[{style}]{text}[/]" if style else text


def graph_line(status: GraphStatus) -> str:
    if not status.suspended:
        return f"graph {status.pipeline}: [green]STARTED[/]"
    since = f" since {status.changed_at:%Y-%m-%d %H:%M} UTC" if status.changed_at else ""
    return (
        f"graph {status.pipeline}: [red]SUSPENDED[/]{since} ({status.reason}); the scheduler "
        "starts no run until `pixelforge resume`"
    )


def runs_table(rows: list[Row]) -> Table:
    table = Table(title="recent runs")
    for column in ("run", "kind", "state", "scheduled", "s", "found", "ok", "quar.", "failure"):
        table.add_column(column)
    for row in rows:
        failure = row["failed_step"] and f"{row['failed_step']}: {row['error_message'] or ''}"
        table.add_row(
            row["run_id"],
            row["kind"],
            _styled(row["state"], STATE_STYLE),
            _text(row["scheduled_at"]),
            _text(row["duration_seconds"]),
            _text(row["files_discovered"]),
            _text(row["files_queryable"]),
            _text(row["files_quarantined"]),
            _text(failure)[:120],
        )
    return table


def backlog_table(rows: list[Row]) -> Table:
    table = Table(title="files by pipeline stage")
    for column in ("stage", "paths", "oldest upload"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            _styled(row["pipeline_stage"], STAGE_STYLE),
            _text(row["files"]),
            _text(row["oldest_upload_at"]),
        )
    return table


def latency_table(rows: list[Row]) -> Table:
    table = Table(title="upload -> queryable (latest period)")
    for column in ("per", "from", "files", "p50 s", "p95 s", "p99 s", "max s", "> objective"):
        table.add_column(column)
    for row in rows:
        breaching = int(row["breaching_files"] or 0)
        table.add_row(
            row["period_grain"],
            _text(row["period_start"]),
            _text(row["loaded_files"]),
            _text(row["p50_seconds"]),
            _text(row["p95_seconds"]),
            _text(row["p99_seconds"]),
            _text(row["max_seconds"]),
            f"[red]{breaching}[/]" if breaching else "0",
        )
    return table


def slo_line(rows: list[Row]) -> str:
    if not rows:
        return "SLO: no scheduled run finished yet"
    row = rows[0]
    rate = float(row["success_rate"] or 0)
    objective = float(row["success_objective"])
    remaining = int(row["error_budget_remaining_runs"])
    style = "green" if remaining >= 0 and rate >= objective else "red"
    return (
        f"SLO {row['month_start']:%Y-%m}: [{style}]{rate:.2%}[/] of {row['finished_runs']} "
        f"scheduled runs succeeded (objective {objective:.1%}); error budget left: "
        f"[{style}]{remaining}[/] of {row['allowed_failed_runs']} failed runs"
    )


def alerts_lines(evaluations: Sequence[AlertEvaluation]) -> list[str]:
    lines = []
    for evaluation in evaluations:
        rule = evaluation.rule
        if evaluation.error:
            lines.append(f"[yellow]? {rule.name}[/]: not evaluated ({evaluation.error[:120]})")
        elif evaluation.firing:
            style = "red" if rule.severity == "page" else "yellow"
            lines.append(f"[{style}]FIRING {rule.name}[/] ({rule.severity}): {rule.message}")
    return lines or ["[green]no alert firing[/]"]


def failures_table(rows: list[Row]) -> Table:
    table = Table(title="failed step attempts, newest first")
    for column in ("run", "run state", "step", "try", "final", "started", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["run_id"],
            _styled(row["run_state"], STATE_STYLE),
            row["step"],
            _text(row["attempt"]),
            "yes" if row["is_final_attempt"] else "retried",
            _text(row["started_at"]),
            _text(row["error_message"])[:200],
        )
    return table


def explain_lines(state: list[Row], events: list[Row]) -> list[str]:
    if not state:
        return ["no such path in the directory table or the run history"]
    row = state[0]
    stage = _styled(row["pipeline_stage"], STAGE_STYLE)
    lines = [f"{row['relative_path']}  (etag {row['etag']})", f"stage: {stage}"]
    if row["not_queryable_reason"]:
        lines.append(f"why not queryable: {row['not_queryable_reason']}")
    if row["latest_run_failed_step"]:
        lines.append(
            f"run {row['latest_discovered_run_id']} failed at {row['latest_run_failed_step']}: "
            f"{row['latest_run_error_message']}"
        )
    if row["metadata_error_message"]:
        lines.append(f"extraction: {row['metadata_reason_code']}: {row['metadata_error_message']}")
    if row["upload_to_queryable_seconds"] is not None:
        lines.append(f"upload -> queryable: {row['upload_to_queryable_seconds']} s")
    lines.append("lineage:")
    for event in events:
        run = f" run {event['run_id']} ({event['run_state']})" if event["run_id"] else ""
        reason = f" [{event['reason_code']}]" if event["reason_code"] else ""
        lines.append(
            f"  {event['event_at']}  {event['event_name']:<10} {event['detail']}{reason}"
            f"  etag {str(event['etag'])[:12]}{run}"
        )
    return lines


# --- commands ---------------------------------------------------------------------------


@contextmanager
def ops_session(data_dir: Path | None) -> Iterator[tuple[LocalStack, Session]]:
    """A session on the embedded stack (attached or started) with the ops views built."""
    try:
        settings = StackSettings.from_env(data_dir)
        stack = LocalStack.attach_or_start(settings, echo=lambda m: console.print(f"[dim]{m}[/]"))
    except StackError as error:
        console.print(f"[red]cannot reach the embedded stack:[/] {error}")
        raise typer.Exit(1) from error
    try:
        try:
            ready = ensure_ops_views(stack, echo=lambda m: console.print(f"[dim]{m}[/]"))
        except OpsViewsError as error:
            console.print(f"[red]{error}[/]")
            raise typer.Exit(1) from error
        if not ready:
            console.print("no run has loaded anything yet: `pixelforge run` first")
            raise typer.Exit(1)
        with stack.session() as session:
            yield stack, session
    finally:
        stack.stop()


def status(
    data_dir: DataDir = None,
    runs: Annotated[int, typer.Option(min=1, max=100, help="How many recent runs.")] = 5,
) -> None:
    """Health at a glance: recent runs, backlog, latency percentiles, SLO budget, alerts."""
    with ops_session(data_dir) as (_stack, session):
        console.print(graph_line(graph_status(session, INCREMENTAL.name)))
        console.print(runs_table(query(session, "ops_recent_runs", [runs])))
        console.print(backlog_table(query(session, "ops_backlog_by_stage")))
        console.print(latency_table(query(session, "ops_latest_latency")))
        console.print(slo_line(query(session, "ops_slo_budget")))
        for line in alerts_lines(evaluate_alerts(session)):
            console.print(line)


def failures(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many attempts.")] = 20,
) -> None:
    """Failed step attempts (final or retried), newest first, with their errors."""
    with ops_session(data_dir) as (_stack, session):
        rows = query(session, "ops_failed_steps", [limit])
    if not rows:
        console.print("[green]no failed step attempt in the history[/]")
        return
    console.print(failures_table(rows))


def explain(
    relative_path: Annotated[str, typer.Argument(help="Path relative to the designs bucket.")],
    data_dir: DataDir = None,
) -> None:
    """One file's lineage across runs: where it is now and why it is not queryable yet."""
    with ops_session(data_dir) as (_stack, session):
        state = query(session, "ops_file_state", [relative_path])
        events = query(session, "ops_file_events", [relative_path])
    for line in explain_lines(state, events):
        console.print(line, highlight=False)
    if not state:
        raise typer.Exit(1)


def alerts(data_dir: DataDir = None) -> None:
    """Evaluate every alert rule now and publish the firing ones to SNS (moto)."""
    with ops_session(data_dir) as (stack, _session):
        report = alert_after_run(stack, None, echo=lambda m: console.print(f"[dim]{m}[/]"))
    for line in alerts_lines(report.evaluations):
        console.print(line)
    if report.firing:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(failures)
    app.command()(explain)
    app.command()(alerts)
