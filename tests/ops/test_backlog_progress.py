"""The backlog's progress (orchestration/sql/ops_backlog_progress.sql) on stand-ins for the ops
views, and how `pixelforge status` and the dashboard print it (80 columns)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pandas as pd
import pytest
from rich.console import Console

from dashboard.charts import progress_caption
from orchestration.ops_cli import progress_line
from orchestration.ops_queries import query
from tests.ops.conftest import Warehouse

T0 = datetime(2026, 12, 6, 4, 0)
# the columns the query reads (the real views have more)
STAND_INS = (
    "create or replace table ops_marts.fct_pipeline_runs (run_id varchar, state varchar, "
    "started_at timestamp_ntz, ended_at timestamp_ntz)",
    "create or replace table ops_marts.fct_file_version_progress (file_version_id varchar, "
    "left_backlog_at timestamp_ntz)",
)


@pytest.fixture
def views(warehouse: Warehouse) -> Warehouse:
    for statement in STAND_INS:
        warehouse.execute(statement)
    return warehouse


def runs(warehouse: Warehouse, count: int) -> None:
    """`count` runs 15 minutes apart from T0, each 10 minutes long (one still executing)."""
    for i in range(count):
        start = T0 + timedelta(minutes=15 * i)
        warehouse.execute(
            "insert into ops_marts.fct_pipeline_runs values (%s, 'SUCCEEDED', %s, %s)",
            (f"run-{i}", start, start + timedelta(minutes=10)),
        )
    warehouse.execute(
        "insert into ops_marts.fct_pipeline_runs values ('running', 'EXECUTING', %s, null)",
        (T0 + timedelta(minutes=15 * count),),
    )


def versions_done(warehouse: Warehouse, prefix: str, files: int, at: datetime) -> None:
    for i in range(files):
        warehouse.execute(
            "insert into ops_marts.fct_file_version_progress values (%s, %s)",
            (f"{prefix}-{i}", at),
        )


def paths(warehouse: Warehouse, stage: str, files: int) -> None:
    for i in range(files):
        warehouse.execute(
            "insert into ops_marts.dim_file_states values (%s, %s, %s, %s)",
            (f"{stage}/{i}.png", stage, stage.startswith("awaiting_"), T0 - timedelta(days=i)),
        )


def test_done_left_rate_and_eta_over_the_recent_finished_runs(views: Warehouse):
    runs(views, 4)  # 04:00-04:10, 04:15-04:25, 04:30-04:40, 04:45-04:55, one running
    versions_done(views, "early", 7, T0 + timedelta(minutes=5))  # done by run 0
    versions_done(views, "recent", 30, T0 + timedelta(minutes=35))  # done by run 2
    versions_done(views, "pending", 4, None)  # not done yet
    paths(views, "awaiting_extraction", 40)
    paths(views, "awaiting_render", 20)
    paths(views, "queryable", 9)

    [row] = query(views.session, "ops_backlog_progress", [3])

    # the last 3 finished runs: 04:15 to 04:55, 40 minutes of wall time
    assert row["runs"] == 3 and row["window_seconds"] == 2400
    assert row["done_files"] == 30 and row["left_files"] == 60
    assert row["oldest_upload_at"] == T0 - timedelta(days=39)
    assert float(row["files_per_hour"]) == pytest.approx(45.0)
    assert float(row["eta_seconds"]) == pytest.approx(4800.0)
    assert row["runs_left"] == 6
    # over all 4 runs: 37 done in 55 minutes
    [row] = query(views.session, "ops_backlog_progress", [10])
    assert row["runs"] == 4 and row["done_files"] == 37 and row["window_seconds"] == 3300


def test_no_backlog_and_no_progress(views: Warehouse):
    [empty] = query(views.session, "ops_backlog_progress", [5])
    assert empty["runs"] == 0 and empty["left_files"] == 0 and empty["eta_seconds"] is None
    assert progress_line([empty]) == "backlog: [green]none waiting[/]"
    runs(views, 2)
    paths(views, "awaiting_discovery", 3)
    [stuck] = query(views.session, "ops_backlog_progress", [5])
    assert stuck["done_files"] == 0 and stuck["left_files"] == 3
    assert stuck["eta_seconds"] is None and stuck["runs_left"] is None
    assert "none done in the last 2 runs: no ETA" in progress_line([stuck])


def render(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(markup)
    return out.getvalue()


def test_the_status_line_fits_80_columns_and_says_everything():
    row = {
        "runs": 5,
        "window_seconds": 4_500,
        "done_files": 1_234_567,
        "left_files": 6_765_433,
        "oldest_upload_at": datetime(2019, 3, 1, 8, 30),
        "files_per_hour": 987_653.6,
        "eta_seconds": 24_660.0,
        "runs_left": 28,
    }
    output = render(progress_line([row]))
    assert max(len(line) for line in output.splitlines()) <= 80, output
    flat = " ".join(output.split())
    for part in (
        "backlog: 6,765,433 left (oldest upload 03-01 08:30 UTC)",
        "1,234,567 done in the last 5 runs (1 h 15 min)",
        "987,654 files/h",
        "ETA 6 h 51 min (~28 runs)",
    ):
        assert part in flat, output


def test_the_dashboard_caption():
    assert progress_caption(pd.DataFrame()) is None
    assert progress_caption(pd.DataFrame([{"left_files": 0.0}])) is None
    frame = pd.DataFrame(
        [
            {
                "runs": 5.0,
                "done_files": 4_000.0,
                "left_files": 12_000.0,
                "files_per_hour": 3_200.0,
                "eta_seconds": 13_500.0,
                "runs_left": 15.0,
            }
        ]
    )
    assert progress_caption(frame) == (
        "12,000 files left; 4,000 done in the last 5 runs: 3,200 files/h, ETA 3.8 h (~15 runs)"
    )
