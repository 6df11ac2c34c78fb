"""An in-process fakesnow server for the warehouse benchmarks (discovery, dbt).

The SQL under test goes through the Snowflake connector and the server, as the pipeline's own
does; only fixture rows are written straight into DuckDB (instance.duck_conn), because loading
8M rows through the wire protocol would time the loader, not the SQL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import snowflake.connector
from fakesnow.instance import FakeSnow

from bench.common import quiet_environment
from orchestration.deploy.apply import local_connection_parameters
from orchestration.local.loopback import fakesnow_in_thread
from orchestration.local.sql import local_sql_statements
from snowpark_procs.sql import sql_statements

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
    quiet_environment()
    # a line per login and per unsupported DDL property would drown the tables
    for name in ("fakesnow", "fakesnow.server", "sqlglot"):
        logging.getLogger(name).setLevel(logging.ERROR)
    instance = FakeSnow()
    instance.duck_conn.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    if spill_dir is not None:
        instance.duck_conn.execute(f"set temp_directory = '{spill_dir}'")
    connection = None
    with fakesnow_in_thread(instance) as port:
        try:
            connection = snowflake.connector.connect(**connection_parameters(port))
            warehouse = Warehouse(instance, connection, port)
            warehouse.run(f"create database if not exists {DATABASE}")
            warehouse.run(f"use database {DATABASE}")
            for statement in (*sql_statements("schema"), *local_sql_statements("objects")):
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
