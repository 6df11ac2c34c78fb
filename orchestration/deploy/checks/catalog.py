"""Qualify every column and function the deploy plan uses against a catalog of Snowflake objects.

fakesnow has no ACCOUNT_USAGE, no TASK_HISTORY() table function and no SYSTEM$ functions, so a
column the plan reads from a Snowflake-owned view that the view does not have only failed on the
account (production audit finding 5: NEXT_SCHEDULED_TIME read from
SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY, which has none). This check parses every plan statement with
sqlglot -- task bodies, what their EXECUTE IMMEDIATE $$...$$ blocks evaluate, SQL procedure
bodies and alert conditions and actions included -- and qualifies each column reference against:

- snowflake_catalog.yml (read by snowflake_catalog.py): the documented columns of the
  Snowflake-owned views, table functions (INFORMATION_SCHEMA.TASK_HISTORY(), DIRECTORY(@stage),
  FLATTEN), streams on stages and command output (SHOW TASKS), each entry with the URL and title
  of its documentation page;
- the project's relations: the plan's own CREATE TABLE / CREATE VIEW / CREATE STREAM statements
  (snowpark_procs/sql/schema.sql is rendered into the plan) and the dbt models' documented
  columns (dbt_project/models/**/_*.yml). A dbt model's documentation may list fewer columns than
  the model has, so a column it does not list is reported as `undocumented`, not as a violation.

Scripting blocks are read with scripting.block_parts (the privilege check's reader): cursor
queries, the statements of the body (inside FOR/WHILE/IF too), CALL ... INTO :var (read as
SELECT ... INTO :var), the expressions of conditions, assignments and RETURNs, and the statements
of an EXECUTE IMMEDIATE whose string is static but for values. RESULT_SCAN's columns are those of
the statement it reads: RESULT_SCAN(LAST_QUERY_ID()) right after a catalogued command in the same
block reads that command's output, whose lower-case column names only a quoted identifier
matches; any other RESULT_SCAN is reported as uncatalogued.

Every call of a SYSTEM$ function or of a function under SNOWFLAKE.<schema> must be catalogued,
with a documented number of arguments (and, for SYSTEM$TASK_RUNTIME_INFO, a documented
argument value); a table function's arguments must be documented ones.

The check is pure: `check_plan(statements)` returns a `Report`; the tests decide what passes.

The parts: snowflake_catalog.py (the catalog), catalog_project.py (the dbt models' columns),
catalog_units.py (statements into parseable units), catalog_sql.py (reading sqlglot trees),
catalog_resolve.py (the sqlglot schema and qualification) and catalog_checker.py (the
findings); this module runs them over the plan.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from orchestration.deploy.checks.catalog_checker import ColumnChecker, Finding, Gap
from orchestration.deploy.checks.catalog_project import ProjectRelation, dbt_relations
from orchestration.deploy.checks.catalog_sql import DIALECT
from orchestration.deploy.checks.catalog_units import Statement, Unit, plan_units
from orchestration.deploy.checks.snowflake_catalog import Catalog, load_catalog


@dataclass(frozen=True)
class Report:
    violations: tuple[Finding, ...]
    gaps: tuple[Gap, ...]
    commands: tuple[Unit, ...]  # parsed only as an opaque Command: nothing to qualify
    uncatalogued: tuple[Finding, ...]  # relations neither Snowflake's nor the project's
    undocumented: tuple[Finding, ...]  # columns a dbt model's documentation does not list
    checked: tuple[Unit, ...] = ()  # parsed and qualified


def _parse(unit: Unit) -> exp.Expr | Gap:
    try:
        expression = sqlglot.parse_one(unit.sql, read=DIALECT)
    except ParseError as error:
        return Gap(unit, str(error).splitlines()[0])
    return expression if expression is not None else Gap(unit, "empty")


def _database(units: Sequence[Unit]) -> str:
    for unit in units:
        if match := re.match(r"use\s+database\s+([\w$]+)\s*$", unit.sql.strip(), re.I):
            return match[1].lower()
    raise ValueError("the plan has no USE DATABASE statement")


def _parsed(units: Iterable[Unit]) -> Iterator[tuple[Unit, exp.Expr | Gap]]:
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # Command fallbacks are reported, not logged
    try:
        for unit in units:
            yield unit, _parse(unit)
    finally:
        sqlglot_logger.setLevel(level)


def check_plan(
    statements: Iterable[Statement],
    catalog: Catalog | None = None,
    dbt: Mapping[str, ProjectRelation] | None = None,
) -> Report:
    """Qualify every column and function of the plan; see the module docstring."""
    units = plan_units(statements)
    database = _database(units)
    checker = ColumnChecker(catalog or load_catalog(), database)
    checker.project.update(dbt_relations(database) if dbt is None else dbt)
    parsed = list(_parsed(units))
    gaps = [result for _, result in parsed if isinstance(result, Gap)]
    commands = [u for u, result in parsed if isinstance(result, exp.Command)]
    for unit, result in parsed:
        if isinstance(result, exp.Expr):
            checker.register(unit, result)
    checked = []
    for unit, result in parsed:
        if isinstance(result, exp.Expr) and not isinstance(result, exp.Command):
            if gap := checker.check(unit, result):
                gaps.append(gap)
            else:
                checked.append(unit)
    return Report(
        violations=tuple(dict.fromkeys(checker.violations)),
        gaps=tuple(gaps),
        commands=tuple(commands),
        uncatalogued=tuple(dict.fromkeys(checker.uncatalogued)),
        undocumented=tuple(dict.fromkeys(checker.undocumented)),
        checked=tuple(checked),
    )
