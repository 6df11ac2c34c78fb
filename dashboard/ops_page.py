"""The operations page: runs, latency, failures, backlog (dashboard/streamlit_app.py).

Every query is a plain Snowflake SQL file over the ops views (dbt selector `ops`), one file per
query in orchestration/sql/ops_*.sql, run by the CLI's own runner (orchestration/ops_queries.py):
the same files the ops commands read (orchestration/ops_cli.py), so `pixelforge status` and this
page agree. Streamlit in Snowflake stages the orchestration package with the app (see
streamlit_app.py). The charts are built by dashboard/charts.py (pure).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.charts import (
    backlog_chart,
    budget_delta,
    failures_chart,
    latency_chart,
    progress_caption,
    runs_timeline,
)
from dashboard.sources import sources
from orchestration.graph import INCREMENTAL
from orchestration.ops_queries import query

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


@dataclass(frozen=True)
class DashboardData:
    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def _numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    # NUMBER columns arrive as Decimal, which charts cannot serialize.
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].astype(float)
    return frame


def load_data(session: Any) -> DashboardData:
    frames = {}
    for name, (query_name, binds) in QUERIES.items():
        frames[name] = _numbers_as_floats(pd.DataFrame(query(session, query_name, binds)))
    return DashboardData(frames)


# --- page --------------------------------------------------------------------------------


def headline(data: DashboardData) -> None:
    runs, slo, stages = data["runs"], data["slo"], data["stages"]
    columns = st.columns(4)
    if runs.empty:
        columns[0].metric("last run", "none")
    else:
        last = runs.iloc[0]  # newest first
        # its duration is neither good nor bad: no colour, no arrow
        columns[0].metric(
            "last run",
            str(last["state"]),
            f"{last['duration_seconds'] or 0:.0f} s",
            delta_color="off",
            delta_arrow="off",
        )
    if slo.empty:
        columns[1].metric("scheduled success (month)", "n/a")
    else:
        row = slo.iloc[0]
        columns[1].metric(
            "scheduled success (month)", f"{float(row['success_rate']):.2%}", **budget_delta(row)
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
        st.altair_chart(runs_timeline(data["step_runs"], INCREMENTAL.run_order()), width="stretch")

    st.subheader("Upload -> queryable latency")
    latency = data["latency"]
    grain = st.radio("per", ["hour", "day"], horizontal=True)
    selected = latency[latency["period_grain"] == grain] if not latency.empty else latency
    if selected.empty:
        st.info("no file loaded in the last 30 days")
    else:
        st.altair_chart(latency_chart(selected, grain), width="stretch")

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


def page() -> None:
    try:
        data = load_data(sources().session)
    except Exception as error:  # the warehouse or the ops views are not there: say so plainly
        st.title("PixelForge pipeline operations")
        st.error(
            "The operations views could not be read. Build them with "
            "`dbt build --selector ops` (or run `pixelforge alerts`), then reload.\n\n"
            f"{type(error).__name__}: {str(error)[:500]}"
        )
        return
    render(data)
