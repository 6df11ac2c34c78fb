"""Everything the CLI and the dashboard query is plain Snowflake SQL over the ops views."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

REPO = Path(__file__).resolve().parents[2]
# One file per query; the CLI and the dashboard read the same ones (test_dashboard_queries).
QUERY_FILES = sorted((REPO / "orchestration" / "sql").glob("ops_*.sql"))


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_query_parses_as_snowflake_sql_and_calls_known_functions(path: Path):
    tree = sqlglot.parse_one(path.read_text(encoding="utf-8").replace("?", "1"), read="snowflake")
    assert not isinstance(tree, exp.Command)
    assert not list(tree.find_all(exp.Anonymous)), "a function sqlglot's Snowflake does not know"
    schemas = {table.db.lower() for table in tree.find_all(exp.Table)}
    assert schemas <= {"ops_marts", "marts"}


def test_there_are_cli_and_dashboard_queries():
    # 14 files before: the dashboard's runs, slo and stages queries are now the CLI's own
    assert len(QUERY_FILES) >= 11
    assert not (REPO / "dashboard" / "sql").exists(), "the dashboard's queries are the CLI's"
