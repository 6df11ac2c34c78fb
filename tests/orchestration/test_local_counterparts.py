"""The local stand-ins of production relations have the production relations' columns, in order.

orchestration/local/objects.sql defines, for the embedded stack, what production gets from
Snowflake: the directory tables (DIRECTORY(@stage) behind the views raw.designs_directory and
raw.thumbnails_directory) and ops.task_history (TASK_HISTORY, archived). Operators' queries, the
handlers and dbt read them by name, so a column added on one side only would work locally and
fail in production (or the reverse).
"""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from orchestration.deploy import DeploySettings, render_plan
from orchestration.local.sql import local_sql_statements

COUNTERPARTS = ("raw.designs_directory", "raw.thumbnails_directory", "ops.task_history")


def _columns(statement: str) -> tuple[str, ...]:
    parsed = sqlglot.parse_one(statement, read="snowflake")
    assert isinstance(parsed, exp.Create), statement
    if isinstance(parsed.expression, exp.Query):  # a view: its select list's output names
        return tuple(e.alias_or_name.lower() for e in parsed.expression.selects)
    schema = parsed.this
    assert isinstance(schema, exp.Schema), statement
    return tuple(c.name.lower() for c in schema.expressions if isinstance(c, exp.ColumnDef))


def _defined(statements: list[str], name: str) -> tuple[str, ...]:
    header = re.compile(rf"create (or replace )?(view|table)( if not exists)? {re.escape(name)}\b")
    matches = [s for s in statements if header.match(s.strip().lower())]
    assert len(matches) == 1, f"{name}: {len(matches)} definitions"
    return _columns(matches[0])


@pytest.fixture(scope="module")
def production() -> list[str]:
    plan = render_plan(DeploySettings.with_placeholders())
    return [s.sql for s in plan if s.kind in {"prod_view", "external_stage"}]


@pytest.fixture(scope="module")
def local() -> list[str]:
    return list(local_sql_statements("objects"))


@pytest.mark.parametrize("name", COUNTERPARTS)
def test_local_counterpart_has_the_production_columns(
    production: list[str], local: list[str], name: str
) -> None:
    assert _defined(local, name) == _defined(production, name)
