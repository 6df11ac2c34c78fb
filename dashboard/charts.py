"""The operations page's charts and headline figures, pure: data frames in, Altair charts and
plain values out (tested without a browser in tests/ops/test_dashboard_charts.py).

Times: the ops views hold UTC timestamps without a zone. They are marked UTC before they reach
Vega-Lite (a zone-less ISO string is read as the browser's local time) and drawn on a `utc`
scale, so the axes read UTC wherever the page is opened, labelled by `time_axis` as clock times
(never Vega's default `:30` seconds or `.800` milliseconds ticks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from orchestration.ops_queries import error_budget_state

STATE_COLORS = {
    "SUCCEEDED": "#2e7d32",
    "FAILED": "#c62828",
    "EXECUTING": "#0277bd",
    "SKIPPED": "#f9a825",
    "CANCELLED": "#6d4c41",
}
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def as_utc(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A copy whose `column` is a zone-aware UTC timestamp (serialized with its +00:00)."""
    times = pd.to_datetime(frame[column])
    times = times.dt.tz_localize("UTC") if times.dt.tz is None else times.dt.tz_convert("UTC")
    return frame.assign(**{column: times})


def time_axis(times: pd.Series, min_step_ms: int = SECOND_MS) -> alt.Axis:
    """An axis labelled as UTC clock times: the format is chosen from the span shown (seconds
    only under an hour, the date only past a day) and ticks are never closer than
    `min_step_ms` (a second, or the period of the data), so no two labels read the same."""
    span_ms = (times.max() - times.min()).total_seconds() * 1_000 if len(times) else 0
    if min_step_ms >= DAY_MS:
        fmt = "%b %d"
    elif span_ms >= DAY_MS:
        fmt = "%b %d %H:%M"
    elif span_ms >= HOUR_MS or min_step_ms >= MINUTE_MS:
        fmt = "%H:%M"
    else:
        fmt = "%H:%M:%S"
    return alt.Axis(format=fmt, tickMinStep=min_step_ms, labelOverlap=True, title="UTC")


def runs_timeline(step_runs: pd.DataFrame, step_order: Sequence[str]) -> alt.Chart:
    """One row per step in the order a run reaches them (`Pipeline.run_order`); a step the
    graph no longer has (an old run's) comes after them, by name."""
    known = [step for step in step_order if step in set(step_runs["step"])]
    rows = known + sorted(set(step_runs["step"]) - set(known))
    states = sorted(STATE_COLORS)
    return (
        alt.Chart(step_runs)
        .mark_rect(stroke="white")
        .encode(
            x=alt.X(
                "run_id:N",
                sort=alt.EncodingSortField("scheduled_at"),
                title="run (oldest to newest)",
                axis=alt.Axis(labels=False, ticks=False),
            ),
            y=alt.Y("step:N", title=None, sort=rows),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=states, range=[STATE_COLORS[s] for s in states]),
            ),
            tooltip=["run_id", "step", "state", "attempt", "duration_seconds"],
        )
        .properties(height=220)
    )


def latency_chart(latency: pd.DataFrame, grain: str = "hour") -> alt.LayerChart:
    """Latency percentiles per `grain` ("hour" or "day") period, with the objective."""
    latency = as_utc(latency, "period_start")
    long = latency.melt(
        id_vars=["period_start", "objective_seconds"],
        value_vars=["p50_seconds", "p95_seconds", "p99_seconds"],
        var_name="percentile",
        value_name="seconds",
    )
    step = DAY_MS if grain == "day" else HOUR_MS
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "period_start:T",
                scale=alt.Scale(type="utc"),
                axis=time_axis(latency["period_start"], step),
            ),
            y=alt.Y("seconds:Q", title="upload -> queryable (s)"),
            color="percentile:N",
        )
    )
    objective = (
        alt.Chart(latency).mark_rule(strokeDash=[4, 4], color="red").encode(y="objective_seconds:Q")
    )
    return alt.layer(lines, objective).properties(height=260)


def failures_chart(failures: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(failures)
        .mark_bar()
        .encode(
            x=alt.X("failures:Q", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("reason:N", sort="-x", title=None),
            color="failure_kind:N",
            tooltip=["failure_kind", "reason", "failures"],
        )
        .properties(height=260)
    )


def backlog_chart(backlog: pd.DataFrame) -> alt.Chart:
    backlog = as_utc(backlog, "snapshot_at")
    return (
        alt.Chart(backlog)
        .mark_area(line=True, opacity=0.4)
        .encode(
            x=alt.X(
                "snapshot_at:T",
                scale=alt.Scale(type="utc"),
                axis=time_axis(backlog["snapshot_at"]),
            ),
            y=alt.Y(
                "backlog_files:Q",
                title="files not loaded",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            tooltip=[
                alt.Tooltip("snapshot_at:T", format="%Y-%m-%d %H:%M:%S", title="at (UTC)"),
                "backlog_files",
                "oldest_backlog_age_seconds",
            ],
        )
        .properties(height=220)
    )


def progress_caption(progress: pd.DataFrame) -> str | None:
    """The backlog's progress in one line (ops_backlog_progress), None without a backlog."""
    if progress.empty or not progress.iloc[0]["left_files"]:
        return None
    row = progress.iloc[0]
    line = f"{int(row['left_files']):,} files left"
    if not row["done_files"]:
        return f"{line}; none done in the last {int(row['runs'])} runs: no ETA"
    eta_h = float(row["eta_seconds"]) / 3600
    return (
        f"{line}; {int(row['done_files']):,} done in the last {int(row['runs'])} runs: "
        f"{float(row['files_per_hour']):,.0f} files/h, ETA {eta_h:,.1f} h "
        f"(~{int(row['runs_left']):,} runs)"
    )


def budget_delta(slo: dict[str, Any]) -> dict[str, Any]:
    """The SLO metric's delta (st.metric keywords): the error budget left, green and up while
    some is left, orange at none left, red and down once overspent or the objective is missed
    (`error_budget_state`, the rule `pixelforge status` colours by)."""
    remaining = int(slo["error_budget_remaining_runs"])
    state = error_budget_state(slo)
    if state == "left":
        return {"delta": f"budget left {remaining} runs", "delta_color": "green",
                "delta_arrow": "up"}  # fmt: skip
    if state == "spent":
        return {"delta": "budget spent: 0 runs left", "delta_color": "orange",
                "delta_arrow": "off"}  # fmt: skip
    if state == "missed":
        return {"delta": f"below objective, budget left {remaining} runs", "delta_color": "red",
                "delta_arrow": "down"}  # fmt: skip
    return {"delta": f"budget overspent by {-remaining} runs", "delta_color": "red",
            "delta_arrow": "down"}  # fmt: skip


def color_swatches(colors: pd.DataFrame) -> alt.Chart:
    """A file's dominant colours as one bar, each colour as wide as its share, drawn in it."""
    return (
        alt.Chart(colors)
        .mark_bar(stroke="white")
        .encode(
            x=alt.X("share:Q", stack="zero", axis=None),
            color=alt.Color("color_hex:N", scale=None),
            order=alt.Order("color_rank:Q"),
            tooltip=["color_hex", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(height=48)
    )
