"""A fakesnow server with the pipeline's tables and hand-made stand-ins for the ops views."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import snowflake.connector
from fakesnow.instance import FakeSnow
from snowflake.snowpark import Session
from typer import Typer
from typer.testing import CliRunner, Result

from orchestration import ops_cli
from orchestration.history import utc_now
from orchestration.local.sql import pipeline_objects
from tests.fakesnow_server import fakesnow_server

# The columns the alert conditions and the dashboard read, as tables: the rules are tested
# here on rows built for each case; the real views are exercised on the embedded stack.
STAND_INS = (
    "create schema if not exists marts",
    "create schema if not exists ops_marts",
    "create or replace table marts.fct_file_versions (file_version_id varchar, "
    "upload_to_queryable_seconds number(38, 0), first_loaded_at timestamp_ntz, "
    "is_quarantined boolean)",
    "create or replace table ops_marts.fct_backlog_snapshots (run_id varchar, "
    "backlog_files number(38, 0), oldest_backlog_age_seconds number(38, 0), "
    "snapshot_at timestamp_ntz)",
    "create or replace table ops_marts.dim_file_states (relative_path varchar, "
    "pipeline_stage varchar, is_in_backlog boolean, last_modified_at timestamp_ntz)",
)
CLEARED = (
    "ops.pipeline_runs",
    "ops.step_runs",
    "marts.fct_file_versions",
    "ops_marts.fct_backlog_snapshots",
    "ops_marts.dim_file_states",
)


class Warehouse:
    def __init__(self, conn: snowflake.connector.SnowflakeConnection, session: Session) -> None:
        self.conn = conn
        self.session = session

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.cursor().execute(sql, params)

    def run(
        self,
        run_id: str,
        ended: datetime,
        steps: list[tuple[str, int, str]],
        kind: str = "scheduled",
    ) -> None:
        """A run ending at `ended` whose steps (name, attempt, state) each took 10 s."""
        failed = any(state == "FAILED" for _, _, state in steps)
        start = ended - timedelta(seconds=10 * len(steps))
        self.execute(
            "insert into ops.pipeline_runs (run_id, kind, scheduled_at, started_at, ended_at, "
            "state) values (%s, %s, %s, %s, %s, %s)",
            (run_id, kind, start, start, ended, "FAILED" if failed else "SUCCEEDED"),
        )
        for index, (step, attempt, state) in enumerate(steps):
            began = start + timedelta(seconds=10 * index)
            self.execute(
                "insert into ops.step_runs (run_id, step, attempt, state, started_at, ended_at, "
                "error_message) values (%s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id,
                    step,
                    attempt,
                    state,
                    began,
                    began + timedelta(seconds=10),
                    "RuntimeError: boom" if state == "FAILED" else None,
                ),
            )


HEALTHY_STEPS = [
    (step, 1, "SUCCEEDED")
    for step in (
        "discover",
        "extract_metadata",
        "render_thumbnails",
        "validate",
        "load",
        "finalize",
    )
]


@pytest.fixture(scope="module")
def warehouse_server() -> Iterator[dict[str, Any]]:
    with fakesnow_server(FakeSnow()) as kwargs:
        yield kwargs


@pytest.fixture(scope="module")
def warehouse_module(warehouse_server: dict[str, Any]) -> Iterator[Warehouse]:
    os.environ.setdefault("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
    conn = snowflake.connector.connect(**warehouse_server)
    conn.cursor().execute("create database if not exists pixelforge")
    conn.cursor().execute("use database pixelforge")
    for statement in (*pipeline_objects(), *STAND_INS):
        conn.cursor().execute(statement)
    session = Session.builder.configs(
        {**warehouse_server, "database": "PIXELFORGE", "schema": "RAW"}
    ).create()
    session.cancel_all = lambda: None  # type: ignore[method-assign]  # fakesnow lacks it
    try:
        yield Warehouse(conn, session)
    finally:
        session.close()
        conn.close()


@pytest.fixture
def warehouse(warehouse_module: Warehouse) -> Warehouse:
    for table in CLEARED:
        warehouse_module.execute(f"delete from {table}")
    return warehouse_module


@pytest.fixture
def marts(warehouse: Warehouse) -> Warehouse:
    """The design marts' and file ops views' stand-ins with their files
    (tests/ops/design_marts.py)."""
    from tests.ops.design_marts import fill_design_marts

    return fill_design_marts(warehouse)


@pytest.fixture
def now() -> datetime:
    return utc_now()


def ops_command(stack: Any, *args: str, columns: int = 200) -> Result:
    """`pixelforge <args>` (the ops commands) against an embedded stack, in a terminal of
    `columns` columns."""
    app = Typer()
    ops_cli.register(app)
    env = {
        "PIXELFORGE_DATA_DIR": str(stack.settings.data_dir),
        "PIXELFORGE_WAREHOUSE_PORT": str(stack.settings.warehouse_port),
        "PIXELFORGE_S3_PORT": str(stack.settings.s3_port),
        "PIXELFORGE_RENDER_PORT": str(stack.settings.render_port),
        "COLUMNS": str(columns),
    }
    return CliRunner().invoke(app, list(args), env=env)
