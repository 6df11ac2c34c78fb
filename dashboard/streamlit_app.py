"""PixelForge operations dashboard: runs, latency, failures, backlog.

Runs as Streamlit in Snowflake (the active session) or locally against the embedded stack
(`streamlit run dashboard/streamlit_app.py` with the stack's PIXELFORGE_* settings). Every
query is a plain Snowflake SQL file over the ops views (dbt selector `ops`), one file per query
in orchestration/sql/ops_*.sql: the same files the CLI's ops commands read (orchestration/
ops_cli.py), so `pixelforge status` and this page agree. They are read by path, relative to
this file: Streamlit in Snowflake stages them with the app at the same relative path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

SQL_DIR = Path(__file__).resolve().parents[1] / "orchestration" / "sql"
# The runs the headline looks at (newest first).
RECENT_RUNS = 50
# The finished runs the backlog's rate and ETA are measured over (as `pixelforge status`).
PROGRESS_RUNS = 5
# frame -> (query file orchestration/sql/<name>.sql, its binds)
QUERIES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "runs": ("ops_recent_runs", (RECENT_RUNS,)),
    "step_runs": ("ops_run_timeline", ()),
    "latency": ("ops_latency_history", ()),
    "failures": ("ops_failure_reasons", ()),
    "backlog": ("ops_backlog_history", ()),
    "stages": ("ops_backlog_by_stage", ()),
    "slo": ("ops_slo_budget", ()),
    "progress": ("ops_backlog_progress", (PROGRESS_RUNS,)),
}
STATE_COLORS = {
    "SUCCEEDED": "#2e7d32",
    "FAILED": "#c62828",
    "EXECUTING": "#0277bd",
    "SKIPPED": "#f9a825",
    "CANCELLED": "#6d4c41",
}


@dataclass(frozen=True)
class DashboardData:
    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def read_query(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def get_session() -> Any:
    """Snowflake's active session in Streamlit in Snowflake; else the embedded stack's."""
    try:
        # the app is an adapter (its own deployable), not a step core
        from snowflake.snowpark.context import get_active_session  # noqa: TID251

        return get_active_session()
    except Exception:  # not inside Snowflake: connect to the local warehouse
        from orchestration.local.stack import StackSettings, open_session

        return open_session(StackSettings.from_env())


@st.cache_resource
def cached_session(warehouse_port: str | None) -> Any:
    """One session per warehouse for the app's lifetime (the port keys the local one)."""
    return get_session()


def _numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    # NUMBER columns arrive as Decimal, which charts cannot serialize.
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame


def load_data(session: Any) -> DashboardData:
    frames = {}
    for name, (query, binds) in QUERIES.items():
        rows = session.sql(read_query(query), params=list(binds) or None).collect()
        frame = pd.DataFrame([{k.lower(): v for k, v in r.as_dict().items()} for r in rows])
        frames[name] = _numbers_as_floats(frame)
    return DashboardData(frames)


# --- charts (pure: frames in, Altair charts out) -----------------------------------------


def runs_timeline(step_runs: pd.DataFrame) -> alt.Chart:
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
            y=alt.Y("step:N", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=states, range=[STATE_COLORS[s] for s in states]),
            ),
            tooltip=["run_id", "step", "state", "attempt", "duration_seconds"],
        )
        .properties(height=220)
    )


def latency_chart(latency: pd.DataFrame) -> alt.LayerChart:
    long = latency.melt(
        id_vars=["period_start", "objective_seconds"],
        value_vars=["p50_seconds", "p95_seconds", "p99_seconds"],
        var_name="percentile",
        value_name="seconds",
    )
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title=None),
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
            x=alt.X("failures:Q"),
            y=alt.Y("reason:N", sort="-x", title=None),
            color="failure_kind:N",
            tooltip=["failure_kind", "reason", "failures"],
        )
        .properties(height=260)
    )


def backlog_chart(backlog: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(backlog)
        .mark_area(line=True, opacity=0.4)
        .encode(
            x=alt.X("snapshot_at:T", title=None),
            y=alt.Y("backlog_files:Q", title="files discovered, not loaded"),
            tooltip=["snapshot_at", "backlog_files", "oldest_backlog_age_seconds"],
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


# --- page --------------------------------------------------------------------------------


def headline(data: DashboardData) -> None:
    runs, slo, stages = data["runs"], data["slo"], data["stages"]
    columns = st.columns(4)
    if runs.empty:
        columns[0].metric("last run", "none")
    else:
        last = runs.iloc[0]  # newest first
        columns[0].metric("last run", str(last["state"]), f"{last['duration_seconds'] or 0:.0f} s")
    if slo.empty:
        columns[1].metric("scheduled success (month)", "n/a")
    else:
        row = slo.iloc[0]
        columns[1].metric(
            "scheduled success (month)",
            f"{float(row['success_rate']):.2%}",
            f"budget left {int(row['error_budget_remaining_runs'])} runs",
        )
    hourly = data["latency"]
    hourly = hourly[hourly["period_grain"] == "hour"] if not hourly.empty else hourly
    p95 = "n/a" if hourly.empty else f"{float(hourly.iloc[-1]['p95_seconds']):.0f} s"
    columns[2].metric("p95 upload -> queryable (hour)", p95)
    waiting = 0
    if not stages.empty:
        waiting = int(stages[stages["pipeline_stage"].str.startswith("awaiting_")]["files"].sum())
    columns[3].metric("backlog now", waiting)


def render(data: DashboardData) -> None:
    st.title("PixelForge pipeline operations")
    headline(data)

    st.subheader("Runs timeline (per-step status)")
    if data["step_runs"].empty:
        st.info("no run in the last 7 days")
    else:
        st.altair_chart(runs_timeline(data["step_runs"]), width="stretch")

    st.subheader("Upload -> queryable latency")
    latency = data["latency"]
    grain = st.radio("per", ["hour", "day"], horizontal=True)
    selected = latency[latency["period_grain"] == grain] if not latency.empty else latency
    if selected.empty:
        st.info("no file loaded in the last 30 days")
    else:
        st.altair_chart(latency_chart(selected), width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader("Failures by reason")
        if data["failures"].empty:
            st.info("no failure in the last 7 days")
        else:
            st.altair_chart(failures_chart(data["failures"]), width="stretch")
    with right:
        st.subheader("Backlog")
        if data["backlog"].empty:
            st.info("no finished run in the last 14 days")
        else:
            st.altair_chart(backlog_chart(data["backlog"]), width="stretch")
        if (caption := progress_caption(data["progress"])) is not None:
            st.caption(caption)
        if not data["stages"].empty:
            st.dataframe(data["stages"], hide_index=True)


def main() -> None:
    st.set_page_config(page_title="PixelForge operations", layout="wide")
    try:
        data = load_data(cached_session(os.environ.get("PIXELFORGE_WAREHOUSE_PORT")))
    except Exception as error:  # the warehouse or the ops views are not there: say so plainly
        st.title("PixelForge pipeline operations")
        st.error(
            "The operations views could not be read. Build them with "
            "`dbt build --selector ops` (or run `pixelforge alerts`), then reload.\n\n"
            f"{type(error).__name__}: {str(error)[:500]}"
        )
        return
    render(data)


main()
