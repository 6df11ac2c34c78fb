"""Every statement the pipeline sends to the local warehouse must be Snowflake SQL.

fakesnow accepts a looser dialect than Snowflake (it runs DuckDB underneath), so a test that only
runs against it could let DuckDB-only SQL into code that production runs. The warehouse server
logs every SQL text it receives; each must parse with sqlglot's Snowflake dialect, without
falling back to an opaque command, and call no function sqlglot's Snowflake dialect does not know.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from tests.integration.conftest import runner_for, small_corpus, upload

# Snowflake functions sqlglot does not model (each checked in Snowflake's docs); none so far.
KNOWN_SNOWFLAKE_FUNCTIONS: frozenset[str] = frozenset()
# DuckDB constructs sqlglot parses in any dialect but Snowflake does not have.
DUCKDB_ONLY_NODES = (exp.Pragma, exp.ReadParquet, exp.ReadCSV, exp.Attach, exp.Detach, exp.Install)


def snowflake_sql_problems(statements: set[str]) -> list[str]:
    problems = []
    for sql in sorted(statements):
        try:
            tree = sqlglot.parse_one(sql, read="snowflake")
        except ParseError as error:
            problems.append(f"does not parse as Snowflake SQL ({error}): {sql[:300]}")
            continue
        if isinstance(tree, exp.Command):
            problems.append(f"not understood as Snowflake SQL: {sql[:300]}")
        if duckdb_nodes := sorted({type(n).__name__ for n in tree.find_all(*DUCKDB_ONLY_NODES)}):
            problems.append(f"DuckDB-only {duckdb_nodes}: {sql[:300]}")
        unknown = {
            node.name.lower()
            for node in tree.find_all(exp.Anonymous)
            if node.name.lower() not in KNOWN_SNOWFLAKE_FUNCTIONS
        }
        if unknown:
            problems.append(
                f"calls functions Snowflake may not have {sorted(unknown)}: {sql[:300]}"
            )
    return problems


def test_the_checker_rejects_duckdb_only_sql():
    duckdb_only = {
        "create macro add_one(a) as a + 1",
        "select list_value(1, 2) as items",
        "pragma database_list",
        "select * from read_parquet('designs.parquet')",
    }
    assert len(snowflake_sql_problems(duckdb_only)) == len(duckdb_only)
    assert snowflake_sql_problems({"select parse_json('[1]') as doc"}) == []


def _logged_statements(log: Path) -> set[str]:
    if not log.exists():
        return set()
    return {json.loads(line)["sql"] for line in log.read_text(encoding="utf-8").splitlines()}


@pytest.mark.integration
def test_every_statement_sent_to_the_warehouse_is_snowflake_sql(statement_log, start_stack):
    if not _logged_statements(statement_log):
        # run alone: produce the statements of a whole run (pipeline, history, dbt) first
        stack = start_stack()
        upload(stack, small_corpus())
        assert runner_for(stack).run().succeeded
    statements = _logged_statements(statement_log)
    assert any("merge into raw.file_metadata" in s.lower() for s in statements)
    assert any("dim_design_files" in s for s in statements)  # dbt's statements are logged too

    assert snowflake_sql_problems(statements) == []
