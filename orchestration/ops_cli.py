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
from typing import Annotated

import typer
from rich.console import Console
from snowflake.snowpark import Session

from orchestration.facet_tables import facts_view
from orchestration.file_facts import LAYER_ROWS, read_file_facts
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
from orchestration.ops_queries import Row, error_budget_state, query
from orchestration.tables import (
    backlog_table,
    failures_table,
    latency_table,
    runs_table,
)
from snowpark_procs.steps.bounded import duration_text

console = Console()

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Folder of the embedded stack's state (default: $PIXELFORGE_DATA_DIR or .pixelforge)."
    ),
]

# --- formatting (pure; the tables are in orchestration/tables.py) ------------------------


def graph_line(status: GraphStatus) -> str:
    if not status.suspended:
        return f"graph {status.pipeline}: [green]STARTED[/]"
    since = f" since {status.changed_at:%Y-%m-%d %H:%M} UTC" if status.changed_at else ""
    return (
        f"graph {status.pipeline}: [red]SUSPENDED[/]{since} ({status.reason}); the scheduler "
        "starts no run until `pixelforge resume`"
    )


BUDGET_STYLE = {"left": "green", "spent": "yellow", "overspent": "red", "missed": "red"}


def slo_line(rows: list[Row]) -> str:
    if not rows:
        return "SLO: no scheduled run finished yet"
    row = rows[0]
    rate = float(row["success_rate"] or 0)
    objective = float(row["success_objective"])
    remaining = int(row["error_budget_remaining_runs"])
    style = BUDGET_STYLE[error_budget_state(row)]
    return (
        f"SLO {row['month_start']:%Y-%m}: [{style}]{rate:.2%}[/] of {row['finished_runs']} "
        f"scheduled runs succeeded (objective {objective:.1%}); error budget left: "
        f"[{style}]{remaining}[/] of {row['allowed_failed_runs']} failed runs"
    )


def progress_line(rows: list[Row]) -> str:
    """The backlog's progress over the recent runs (ops_backlog_progress): left, done, the
    rate over their wall time and the ETA at that rate."""
    row = rows[0] if rows else {}
    left = int(row.get("left_files") or 0)
    if not left:
        return "backlog: [green]none waiting[/]"
    runs = int(row.get("runs") or 0)
    done = int(row.get("done_files") or 0)
    span = duration_text(float(row["window_seconds"] or 0)) if runs else ""
    oldest = row.get("oldest_upload_at")
    head = f"backlog: [yellow]{left:,} left[/]" + (
        f" (oldest upload {oldest:%m-%d %H:%M} UTC)" if oldest else ""
    )
    if not done:
        return f"{head}; none done in the last {runs} runs: no ETA"
    eta = duration_text(float(row["eta_seconds"]))
    return (
        f"{head}; {done:,} done in the last {runs} runs ({span}): "
        f"{float(row['files_per_hour']):,.0f} files/h, ETA {eta} (~{int(row['runs_left']):,} runs)"
    )


def stale_facets_line(rows: list[Row]) -> str:
    """The stale facets of the latest reconciliation (ops_stale_facets), each with its count."""
    if not rows:
        return "stale facets: no reconciliation has counted them yet"
    checked = max(row["checked_at"] for row in rows)
    counts = ", ".join(
        f"{row['facet']} " + (f"[yellow]{int(row['files']):,}[/]" if row["files"] else "0")
        for row in rows
    )
    hint = "; `pixelforge reprocess --facet NAME`" if any(row["files"] for row in rows) else ""
    return f"stale facets (reconciliation {checked:%Y-%m-%d %H:%M} UTC): {counts}{hint}"


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
        console.print(progress_line(query(session, "ops_backlog_progress", [runs])))
        console.print(latency_table(query(session, "ops_latest_latency")))
        console.print(slo_line(query(session, "ops_slo_budget")))
        console.print(stale_facets_line(query(session, "ops_stale_facets")))
        for line in alerts_lines(evaluate_alerts(session)):
            console.print(line)


def failures(
    data_dir: DataDir = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many attempts.")] = 20,
) -> None:
    """Failed step attempts (final or retried), newest first, with their errors: one line per
    attempt from the ops views, so the same query answers in production. `history --failed`
    shows the same runs locally with all their steps."""
    with ops_session(data_dir) as (_stack, session):
        rows = query(session, "ops_failed_steps", [limit])
    if not rows:
        console.print("[green]no failed step attempt in the history[/]")
        return
    console.print(failures_table(rows))


def explain(
    relative_path: Annotated[str, typer.Argument(help="Path relative to the designs bucket.")],
    data_dir: DataDir = None,
    layers: Annotated[
        int, typer.Option(min=1, max=LAYER_ROWS, help="How many layers to list at most.")
    ] = 40,
) -> None:
    """One file's lineage across runs: where it is now and why it is not queryable yet; then
    what it holds (metadata, layers, text, colours), its near-duplicates and the files it
    derives from or that derive from it."""
    with ops_session(data_dir) as (_stack, session):
        facts = read_file_facts(session, relative_path, layer_rows=layers)
    for part in facts_view(facts):
        console.print(part, highlight=False)
    if not facts.found:
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
