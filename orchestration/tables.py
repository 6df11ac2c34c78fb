"""The CLI's tables, pure: rows or records in, rich renderables out, readable in 80 columns.

Every table command (`status`, `history`, `failures`, `explain`, a run's report, `sql`) builds
its tables here. The layout rule: identifiers (run ids, step names, paths, kinds, states) are
never cut; a column too narrow folds them onto the next line instead of ending them with an
ellipsis. To fit 80 columns the tables have no outer border, times are shown as `MM-DD HH:MM`
(UTC), file counts of a run share one column, and long errors are printed under the table, one
wrapped line each, instead of in a narrow column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from orchestration.history import PipelineRun, StepRun

Row = dict[str, Any]

STATE_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "SKIPPED": "yellow", "EXECUTING": "cyan"}
STAGE_STYLE = {"queryable": "green", "quarantined": "yellow", "deleted": "dim"}
ERROR_CHARS = 400  # an error is shown up to this many characters (a step's error is bounded)


def compact_table(title: str | None = None, caption: str | None = None) -> Table:
    """Two spaces between columns, a rule under the header, no outer border."""
    return Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def add_columns(table: Table, *names: str, numeric: Iterable[str] = ()) -> None:
    """Columns that fold a long word rather than cut it; numeric ones right-aligned."""
    right = set(numeric)
    for name in names:
        table.add_column(name, overflow="fold", justify="right" if name in right else "left")


def add_row(table: Table, *cells: str | Text) -> None:
    """A row whose strings are literal text: a path or an error never reads as markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def styled(value: Any, styles: dict[str, str]) -> Text:
    """The value as text, coloured when the style map knows it (never markup-parsed)."""
    return Text(text(value), style=styles.get(text(value), ""))


def when(value: datetime | None, seconds: bool = False) -> str:
    """`MM-DD HH:MM` (UTC, as stored), with seconds when asked."""
    if value is None:
        return ""
    return f"{value:%m-%d %H:%M:%S}" if seconds else f"{value:%m-%d %H:%M}"


def whole(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def files_cell(*counts: int | None) -> str:
    """`found/queryable/quarantined`, blank for a run that counted nothing (skipped)."""
    if all(count is None for count in counts):
        return ""
    return "/".join("-" if count is None else str(count) for count in counts)


def error_lines(errors: Sequence[tuple[str, str]]) -> list[Text]:
    """`label: error` lines, printed under a table; the console wraps them at spaces."""
    return [
        Text.assemble((label, "bold"), ": ", (message[:ERROR_CHARS], "red"))
        for label, message in errors
    ]


# --- status -------------------------------------------------------------------------------


def runs_table(rows: list[Row]) -> RenderableType:
    table = compact_table(
        "recent runs", caption="files: found/queryable/quarantined; s: duration in seconds"
    )
    add_columns(table, "run", "kind", "state", "scheduled", "s", "files", numeric=("s",))
    errors = []
    for row in rows:
        add_row(
            table,
            row["run_id"],
            row["kind"],
            styled(row["state"], STATE_STYLE),
            when(row["scheduled_at"]),
            whole(row["duration_seconds"]),
            files_cell(row["files_discovered"], row["files_queryable"], row["files_quarantined"]),
        )
        if row["failed_step"]:
            errors.append((f"{row['run_id']} {row['failed_step']}", text(row["error_message"])))
    return Group(table, *error_lines(errors))


def backlog_table(rows: list[Row]) -> Table:
    table = compact_table("files by pipeline stage")
    add_columns(table, "stage", "paths", "oldest upload", numeric=("paths",))
    for row in rows:
        add_row(
            table,
            styled(row["pipeline_stage"], STAGE_STYLE),
            text(row["files"]),
            when(row["oldest_upload_at"]),
        )
    return table


def latency_table(rows: list[Row]) -> Table:
    table = compact_table("upload -> queryable (latest period), seconds")
    numbers = ("files", "p50", "p95", "p99", "max", "> SLO")
    add_columns(table, "per", "from", *numbers, numeric=numbers)
    for row in rows:
        breaching = int(row["breaching_files"] or 0)
        add_row(
            table,
            row["period_grain"],
            when(row["period_start"]),
            text(row["loaded_files"]),
            whole(row["p50_seconds"]),
            whole(row["p95_seconds"]),
            whole(row["p99_seconds"]),
            whole(row["max_seconds"]),
            Text(str(breaching), style="red" if breaching else ""),
        )
    return table


# --- failures, explain --------------------------------------------------------------------


def failures_table(rows: list[Row]) -> RenderableType:
    table = compact_table(
        "failed step attempts, newest first",
        caption="try: the attempt, `final` when no retry followed; run: the run's state",
    )
    add_columns(table, "started", "run", "step", "try", "run state")
    errors = []
    for row in rows:
        attempt = text(row["attempt"]) + (" final" if row["is_final_attempt"] else "")
        add_row(
            table,
            when(row["started_at"]),
            row["run_id"],
            row["step"],
            attempt,
            styled(row["run_state"], STATE_STYLE),
        )
        errors.append(
            (f"{row['run_id']} {row['step']} try {row['attempt']}", text(row["error_message"]))
        )
    return Group(table, *error_lines(errors))


def explain_view(state: list[Row], events: list[Row]) -> list[RenderableType]:
    """Where one path is, why it is not queryable, and its events across runs, oldest first."""
    if not state:
        return [Text("no such path in the directory table or the run history")]
    row = state[0]
    lines = [
        Text(f"{row['relative_path']}  (etag {row['etag']})"),
        Text.assemble("stage: ", styled(row["pipeline_stage"], STAGE_STYLE)),
    ]
    if row["not_queryable_reason"]:
        lines.append(Text(f"why not queryable: {row['not_queryable_reason']}"))
    if row["latest_run_failed_step"]:
        lines.append(
            Text(
                f"run {row['latest_discovered_run_id']} failed at "
                f"{row['latest_run_failed_step']}: {row['latest_run_error_message']}"
            )
        )
    if row["metadata_error_message"]:
        lines.append(
            Text(f"extraction: {row['metadata_reason_code']}: {row['metadata_error_message']}")
        )
    if row["upload_to_queryable_seconds"] is not None:
        lines.append(Text(f"upload -> queryable: {row['upload_to_queryable_seconds']} s"))
    return [*lines, lineage_table(events)]


def lineage_table(events: list[Row]) -> Table:
    table = compact_table("lineage (times UTC, etags to 8 characters)")
    add_columns(table, "at", "event", "etag", "run")
    for event in events:
        detail = text(event["detail"]) + (
            f" [{event['reason_code']}]" if event["reason_code"] else ""
        )
        run = f"{event['run_id']} ({event['run_state']})" if event["run_id"] else ""
        add_row(
            table,
            when(event["event_at"], seconds=True),
            f"{event['event_name']:<10} {detail}",
            text(event["etag"])[:8],
            run,
        )
    return table


# --- a run and its steps (a run's report, history) ----------------------------------------


def run_line(run: PipelineRun) -> Text:
    """Two lines: the run, its state and duration; then its kind and scheduled time."""
    duration = (
        (run.ended_at - run.started_at).total_seconds() if run.ended_at and run.started_at else None
    )
    return Text.assemble(
        "run ",
        (run.run_id, "bold"),
        " · ",
        styled(run.state, STATE_STYLE),
        "" if duration is None else f" · {duration:.1f} s",
        f"\n  {run.kind} · scheduled {run.scheduled_at:%Y-%m-%d %H:%M} UTC",
    )


def steps_table(run: PipelineRun, steps: Sequence[StepRun]) -> RenderableType:
    """The run's line, its step attempts, then each failed attempt's error."""
    table = compact_table()
    numbers = ("try", "in", "ok", "failed", "s")
    add_columns(table, "step", "try", "state", "in", "ok", "failed", "s", numeric=numbers)
    for step in steps:
        add_row(
            table,
            step.step,
            str(step.attempt),
            styled(step.state, STATE_STYLE),
            text(step.files_in),
            text(step.files_succeeded),
            text(step.files_failed),
            text(step.duration_s),
        )
    errors = [(f"{s.step} try {s.attempt}", s.error_message) for s in steps if s.error_message]
    return Group(run_line(run), table, *error_lines(errors))


# --- sql ----------------------------------------------------------------------------------


def result_table(rows: Sequence[Row]) -> Table:
    """A query's rows, every column folding (values are never cut)."""
    table = compact_table()
    add_columns(table, *rows[0])
    for row in rows:
        add_row(table, *("" if v is None else str(v) for v in row.values()))
    return table
