"""The operations page's charts and headline as specs (dashboard/charts.py): steps in the graph's
order, time axes labelled as UTC clock times, the error budget coloured by its state."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from dashboard.charts import (
    DAY_MS,
    HOUR_MS,
    backlog_chart,
    budget_delta,
    latency_chart,
    runs_timeline,
)
from orchestration.graph import INCREMENTAL, ROOT_STEP
from orchestration.ops_cli import slo_line
from orchestration.ops_queries import error_budget_state

T0 = datetime(2026, 12, 6, 6, 16, 10)
GRAPH_ORDER = ["discover", "extract_metadata", "render_thumbnails", "validate", "load", "finalize"]


def step_runs(steps: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"run_id": run, "step": step, "state": "SUCCEEDED", "attempt": 1,
             "duration_seconds": 1.0, "scheduled_at": T0 + timedelta(minutes=15 * i)}
            for i, run in enumerate(["r1", "r2"])
            for step in steps
        ]
    )  # fmt: skip


def test_run_order_is_the_graphs_dependency_order_root_first_finalizer_last():
    assert INCREMENTAL.run_order() == (ROOT_STEP, *GRAPH_ORDER)


def test_the_timeline_lists_steps_in_graph_order_not_alphabetically():
    alphabetical = sorted(GRAPH_ORDER)
    assert alphabetical != GRAPH_ORDER
    spec = runs_timeline(step_runs(alphabetical), INCREMENTAL.run_order()).to_dict()
    assert spec["encoding"]["y"]["sort"] == GRAPH_ORDER


def test_a_step_the_graph_no_longer_has_comes_last():
    spec = runs_timeline(step_runs(["load", "old_step", "discover"]), GRAPH_ORDER).to_dict()
    assert spec["encoding"]["y"]["sort"] == ["discover", "load", "old_step"]


def backlog(span: timedelta, points: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"snapshot_at": T0 + span * i / (points - 1), "backlog_files": float(i % 2),
             "oldest_backlog_age_seconds": 0.0}
            for i in range(points)
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("span", "fmt"),
    [
        (timedelta(seconds=10), "%H:%M:%S"),  # the screenshot's run: ticks were ":09 :10 .800"
        (timedelta(minutes=50), "%H:%M:%S"),
        (timedelta(hours=3), "%H:%M"),
        (timedelta(days=14), "%b %d %H:%M"),
    ],
)
def test_the_backlog_axis_reads_as_utc_clock_times(span, fmt):
    spec = backlog_chart(backlog(span)).to_dict()
    x = spec["encoding"]["x"]
    assert x["type"] == "temporal" and x["scale"] == {"type": "utc"}
    assert x["axis"]["format"] == fmt and x["axis"]["title"] == "UTC"
    # never a tick closer than a second: Vega's default would label milliseconds (".800")
    assert x["axis"]["tickMinStep"] == 1_000
    # the values carry their zone, so the browser does not read them as its local time
    (values,) = spec["datasets"].values()
    assert values[0]["snapshot_at"] == "2026-12-06T06:16:10+00:00"
    # counts of files are whole numbers
    assert spec["encoding"]["y"]["axis"] == {"format": "d", "tickMinStep": 1}


def test_the_latency_axis_steps_by_its_period():
    rows = [
        {"period_start": T0.replace(minute=0) + timedelta(hours=i), "objective_seconds": 1800.0,
         "p50_seconds": 5.0, "p95_seconds": 9.0, "p99_seconds": 12.0}
        for i in range(3)
    ]  # fmt: skip
    hourly = latency_chart(pd.DataFrame(rows), "hour").to_dict()["layer"][0]["encoding"]["x"]
    assert hourly["axis"]["format"] == "%H:%M" and hourly["axis"]["tickMinStep"] == HOUR_MS
    assert hourly["scale"] == {"type": "utc"}
    daily = latency_chart(pd.DataFrame(rows), "day").to_dict()["layer"][0]["encoding"]["x"]
    assert daily["axis"]["format"] == "%b %d" and daily["axis"]["tickMinStep"] == DAY_MS


def slo(remaining: int, rate: float = 0.9, objective: float = 0.9) -> dict[str, object]:
    return {
        "month_start": datetime(2026, 12, 1),
        "finished_runs": 30,
        "success_rate": rate,
        "success_objective": objective,
        "allowed_failed_runs": 3,
        "error_budget_remaining_runs": remaining,
    }


@pytest.mark.parametrize(
    ("row", "state", "delta", "color", "arrow"),
    [
        (slo(2, 0.95), "left", "budget left 2 runs", "green", "up"),
        (slo(0, 0.9), "spent", "budget spent: 0 runs left", "orange", "off"),
        # the screenshot's month: 2 of 3 scheduled runs succeeded, shown green as "↑ -1"
        (slo(-1, 0.6667), "overspent", "budget overspent by 1 runs", "red", "down"),
        (slo(1, 0.85), "missed", "below objective, budget left 1 runs", "red", "down"),
    ],
)
def test_the_error_budget_is_coloured_by_its_state(row, state, delta, color, arrow):
    assert error_budget_state(row) == state
    assert budget_delta(row) == {"delta": delta, "delta_color": color, "delta_arrow": arrow}


def test_the_cli_colours_the_budget_by_the_same_rule():
    assert "[red]-1[/]" in slo_line([slo(-1, 0.6667)])
    assert "[yellow]0[/]" in slo_line([slo(0, 0.9)])
    assert "[green]2[/]" in slo_line([slo(2, 0.95)])
