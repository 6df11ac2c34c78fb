"""The warehouse tools the benchmarks and the dbt tests share: a fakesnow server in this process
with the pipeline's schema, dbt run in process against it, fixture rows loaded straight into
DuckDB, and DuckDB's profiler over one Snowflake SELECT (rows scanned and aggregated).

The SQL under test goes through the Snowflake connector and the server, as the pipeline's own
does; only fixture rows are written straight into DuckDB (instance.duck_conn), because loading
8M rows through the wire protocol would time the loader, not the SQL. Used by bench.discovery,
bench.dbt_incremental and tests/dbt (the tests never import bench/).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import snowflake.connector
from fakesnow.instance import FakeSnow

from orchestration.deploy.apply import local_connection_parameters
from orchestration.local import dbt_command
from orchestration.local.settings import QUIET_ENV
from orchestration.local.sql import pipeline_objects
from orchestration.local.warehouse_server import logged_fakesnow_in_thread
from pixelforge_core.render_wire import THUMBNAIL_SIZES

REPO_ROOT = Path(__file__).resolve().parents[1]


DATABASE = "pixelforge"


@dataclass(frozen=True)
class Warehouse:
    instance: FakeSnow
    connection: snowflake.connector.SnowflakeConnection
    port: int

    def duck(self, sql: str) -> Any:
        """Run DuckDB SQL directly (fixture loading only), in the pixelforge database."""
        return self.instance.duck_conn.execute(sql)

    def run(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run Snowflake SQL through the connector and the server."""
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def timed(self, sql: str, params: list[Any] | None = None) -> tuple[float, int]:
        """(wall seconds, rows affected or returned) of one statement through the server."""
        cursor = self.connection.cursor()
        try:
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            elapsed = time.perf_counter() - started
            return elapsed, cursor.rowcount if cursor.rowcount is not None else len(rows)
        finally:
            cursor.close()


# DuckDB takes 80% of RAM by default; capped so a shared host keeps its room (the 8M-key
# discovery and 8M-row dbt runs peaked at 14.2 and 14.8 GB under this cap: at 6 GB the hash
# joins and windows failed instead of spilling). PIXELFORGE_BENCH_DUCKDB_MEMORY overrides it.
MEMORY_LIMIT = os.environ.get("PIXELFORGE_BENCH_DUCKDB_MEMORY", "14GB")


@contextlib.contextmanager
def fakesnow_warehouse(spill_dir: Path | None = None) -> Iterator[Warehouse]:
    """A fakesnow server on a free loopback port with the pipeline's schema applied."""
    os.environ.update(QUIET_ENV)
    # a line per login and per unsupported DDL property would drown the tables
    for name in ("fakesnow", "fakesnow.server", "sqlglot"):
        logging.getLogger(name).setLevel(logging.ERROR)
    instance = FakeSnow()
    instance.duck_conn.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    if spill_dir is not None:
        instance.duck_conn.execute(f"set temp_directory = '{spill_dir}'")
    connection = None
    # the stack's warehouse server: a statement that runs for minutes is answered "in progress"
    # and polled (orchestration/local/query_progress.py), not re-sent after the connector's 60 s
    with logged_fakesnow_in_thread(instance, None) as port:
        try:
            connection = snowflake.connector.connect(**connection_parameters(port))
            warehouse = Warehouse(instance, connection, port)
            warehouse.run(f"create database if not exists {DATABASE}")
            warehouse.run(f"use database {DATABASE}")
            for statement in pipeline_objects():
                warehouse.run(statement)
            warehouse.duck(f"use {DATABASE}")
            yield warehouse
        finally:
            if connection is not None:
                connection.close()


# Operators whose work grows with their input: grouping (DISTINCT too) and windows. DuckDB may
# plan a `qualify row_number() ... = 1` as a grouping, so both kinds count.
AGGREGATING_OPERATORS = frozenset(
    {"HASH_GROUP_BY", "PERFECT_HASH_GROUP_BY", "WINDOW", "STREAMING_WINDOW"}
)


def profile_select(instance: FakeSnow, sql: str, profile_path: Path) -> dict[str, Any]:
    """Run one Snowflake SELECT once under DuckDB's profiler, through fakesnow's translation.

    rows_scanned: the profiler's rows read per table scan (after zone-map pruning);
    rows_aggregated: rows fed into grouping and window operators (ungrouped aggregates such
    as a watermark's max() are left out: they hold one row, whatever their input).
    """
    connection = instance.connect(database=DATABASE, schema="marts")
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA enable_profiling='json'")
        cursor.execute(f"PRAGMA profiling_output='{profile_path}'")
        cursor.execute(sql)
        rows_out = len(cursor.fetchall())
        cursor.execute("PRAGMA disable_profiling")
    finally:
        cursor.close()
        connection.close()
    scans: dict[str, int] = {}
    aggregated = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal aggregated
        children = node.get("children", [])
        if node.get("type") == "TABLE_SCAN":
            table = str(node.get("extra_info", {}).get("Table", "?")).lower()
            scans[table] = scans.get(table, 0) + int(node.get("rows_scanned", 0))
        if node.get("name") in AGGREGATING_OPERATORS:
            aggregated += sum(int(child.get("intermediate_rows", 0)) for child in children)
        for child in children:
            walk(child)

    for node in json.loads(profile_path.read_text()).get("operator", []):
        walk(node)
    return {
        "rows_out": rows_out,
        "scans": scans,
        "rows_scanned": sum(scans.values()),
        "rows_aggregated": aggregated,
    }


def connection_parameters(port: int) -> dict[str, Any]:
    return {
        **local_connection_parameters(port),
        "database": DATABASE,
        "paramstyle": "qmark",  # the repo SQL binds with ?, as Snowpark does
        "network_timeout": 600,  # an 8M-row statement is slow, not stuck
    }


# --- fixture rows and dbt in process ----------------------------------------------------------

SEED_AT, BATCH_AT = datetime(2026, 1, 1, 10, 0), datetime(2026, 1, 1, 10, 15)


def _path(i: str) -> str:
    return (
        f"'designs/team-' || ({i} % 97)::varchar || '/design-' "
        f"|| lpad({i}::varchar, 9, '0') || '.png'"
    )


def load_versions(warehouse: Warehouse, select: str, run_id: str, at: datetime) -> None:
    """file_changes, file_metadata and both thumbnails for the versions `select` yields
    (columns i, change_type, etag), straight into DuckDB."""
    stamp = f"timestamp '{at:%Y-%m-%d %H:%M:%S}'"
    warehouse.duck(f"create or replace temporary table bench_versions as {select}")
    warehouse.duck(
        f"""insert into raw.file_changes by name
        select '{run_id}' as run_id, {_path("i")} as relative_path, etag,
            1000000 + i % 9000000 as size, {stamp} - interval 5 minute as last_modified,
            etag as md5, change_type, {stamp} as discovered_at
        from bench_versions"""
    )
    warehouse.duck(
        f"""insert into raw.file_metadata by name
        select {_path("i")} as relative_path, etag, 'ok' as status, 'PNG' as format,
            3000 as width_px, 2000 as height_px, 'RGBA' as mode, 8 as bit_depth,
            etag || etag as sha256, 1000000 + i % 9000000 as size_bytes, '{run_id}' as run_id,
            {stamp} + interval 1 minute as extracted_at
        from bench_versions"""
    )
    for size in THUMBNAIL_SIZES:
        warehouse.duck(
            f"""insert into raw.thumbnails by name
            select {_path("i")} as relative_path, etag, {size} as size_px, 'ok' as status,
                'v1/' || etag || '/{size}.webp' as thumbnail_key, {size} as width_px,
                {size * 2 // 3} as height_px, 40000 as thumbnail_bytes, '{run_id}' as run_id,
                {stamp} + interval 2 minute as rendered_at
            from bench_versions"""
        )


def dbt(command: list[str], port: int, target_dir: Path) -> dict[str, Any]:
    """Run dbt as the runner does, in process (target local unless the command names one, as
    DbtStep.build_args does); wall time and run_results."""
    from dbt.cli.main import dbtRunner  # imported when used: dbt takes seconds to import

    args = [
        *command,
        "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "dbt_project"),
        *(() if "--target" in command else ("--target", "local")),
        "--target-path", str(target_dir), "--log-path", str(target_dir),
        # one thread: fakesnow's server refuses a second statement on a DuckDB connection that
        # is still busy ("connection is busy"), which the 8M-row tests hit with 4 threads
        "--threads", "1", "--quiet",
    ]  # fmt: skip
    os.environ.update({**QUIET_ENV, "PIXELFORGE_WAREHOUSE_PORT": str(port)})
    (target_dir / "run_results.json").unlink(missing_ok=True)
    started = time.perf_counter()
    with dbt_command.INVOCATION:
        # the project parsed once per process while its files are unchanged, as the runner does
        manifest = dbt_command.parsed_manifest(dbtRunner, args)
        outcome = dbtRunner(manifest=manifest).invoke(args)
    wall = time.perf_counter() - started
    results_path = target_dir / "run_results.json"
    results = json.loads(results_path.read_text())["results"] if results_path.exists() else []
    failures = [r for r in results if r["status"] in ("error", "fail", "runtime error")]
    if not outcome.success or failures:
        detail = "; ".join(f"{r['unique_id']}: {str(r.get('message'))[:300]}" for r in failures)
        raise RuntimeError(f"dbt {' '.join(command)} failed: {detail or outcome.exception}")
    return {
        "wall_s": wall,
        "nodes": [
            {
                "unique_id": r["unique_id"],
                "seconds": r["execution_time"],
                "rows_affected": (r.get("adapter_response") or {}).get("rows_affected"),
            }
            for r in results
        ],
    }
