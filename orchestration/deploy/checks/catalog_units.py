"""A plan statement as the catalog check parses it: units of SQL (a task body, each statement
and expression of a Scripting block, an alert's condition and action, a SQL procedure's body),
with CALL read as SELECT and expressions wrapped in SELECT so that sqlglot parses them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from orchestration.deploy.checks.scripting import EXPRESSION, block_parts
from orchestration.deploy.checks.sql_text import (
    dollar_body,
    matching_paren,
    strip_comments,
    top_level_word,
    top_level_words,
)


class Statement(Protocol):
    """What the check reads of a plan statement (orchestration.deploy.plan.PlanStatement)."""

    @property
    def sql(self) -> str: ...


@dataclass(frozen=True)
class Unit:
    """One piece of SQL to parse: a plan statement, or a part of one (a task body, a statement of
    an EXECUTE IMMEDIATE block, an alert condition...). CALL is rewritten to SELECT and a
    scripting expression is wrapped in SELECT, so that sqlglot parses them. `previous` is the
    statement its Scripting block ran last before it (what RESULT_SCAN(LAST_QUERY_ID()) reads),
    empty when there is none."""

    statement: str  # the plan statement's first line
    origin: str
    sql: str
    previous: str = ""


def _call_as_select(sql: str) -> str:
    """CALL f(...) [INTO :var] as SELECT f(...) [INTO :var]: sqlglot keeps CALL as an opaque
    Command, and reads SELECT ... INTO :var."""
    return re.sub(r"^\s*call\s+", "select ", sql, count=1, flags=re.I)


def _block_units(statement: str, origin: str, block: str) -> list[Unit]:
    """The units of a Snowflake Scripting block (scripting.block_parts): its statements (a
    dynamic EXECUTE IMMEDIATE stays whole, an opaque Command) and its expressions."""
    units: list[Unit] = []
    previous = ""
    for part in block_parts(block):
        if part.kind == EXPRESSION:
            units.append(Unit(statement, f"{origin} expression", f"select {part.text}", previous))
        else:
            units.append(Unit(statement, origin, _call_as_select(part.text), previous))
            previous = part.text
    return units


def _body_units(statement: str, origin: str, body: str) -> list[Unit]:
    if re.match(r"execute\s+immediate\s+\$\$", body, re.I) and (inner := dollar_body(body)):
        return _block_units(statement, f"{origin} (execute immediate)", inner)
    if re.match(r"(declare|begin)\b", body, re.I):
        return _block_units(statement, origin, body)
    return [Unit(statement, origin, _call_as_select(body))]


def _alert_units(statement: str, sql: str) -> list[Unit]:
    condition = top_level_word(sql, "if")
    opening = sql.find("(", condition) if condition is not None else -1
    if opening < 0 or sql[condition + 2 : opening].strip():
        return [Unit(statement, "statement", sql)]
    close = matching_paren(sql, opening)
    then = top_level_word(sql, "then", close)
    action = sql[then + 4 :].strip() if then is not None else ""
    units = [Unit(statement, "alert condition", f"select {sql[opening + 1 : close].strip()}")]
    return [*units, *_body_units(statement, "alert action", action)] if action else units


def _search_service_units(statement: str, sql: str) -> list[Unit]:
    """CREATE CORTEX SEARCH SERVICE ... ON col ATTRIBUTES cols ... AS query: the source query,
    read for the ON and ATTRIBUTES columns ("CREATE CORTEX SEARCH SERVICE": both must be
    columns of the query's result, https://docs.snowflake.com/en/sql-reference/sql/create-cortex-search)."""
    as_at = top_level_word(sql, "as")
    if as_at is None:
        return []
    options = sql[:as_at]
    on = re.search(r"\bon\s+(\w+)", options, re.I)
    attributes = re.search(r"\battributes\s+(\w+(?:\s*,\s*\w+)*)", options, re.I)
    if on is None:
        return []
    columns = [on[1], *(re.split(r"\s*,\s*", attributes[1]) if attributes else [])]
    query = sql[as_at + 2 :].strip().rstrip(";")
    if not query.startswith("("):
        query = f"({query})"
    return [
        Unit(
            statement, "search service query", f"select {', '.join(columns)} from {query} as source"
        )
    ]


def statement_units(sql: str) -> list[Unit]:
    """The parseable units of one plan statement."""
    statement = sql.strip().splitlines()[0].strip()
    whole = [Unit(statement, "statement", _call_as_select(sql))]  # when no part is recognised
    head = strip_comments(sql).lower().strip()
    if re.match(r"create\s+(or\s+(alter|replace)\s+)?task\b", head):
        body_at = top_level_word(sql, "as")
        body = sql[body_at + 2 :].strip() if body_at is not None else ""
        return _body_units(statement, "task body", body) if body else whole
    if re.match(r"create\s+(or\s+(alter|replace)\s+)?alert\b", head):
        return _alert_units(statement, sql)
    if re.match(r"create\s+(or\s+replace\s+)?cortex\s+search\s+service\b", head):
        return _search_service_units(statement, sql) or whole
    if re.match(r"create\s+(or\s+replace\s+)?procedure\b", head):
        words = [w for _, w in top_level_words(sql)]
        if ("language", "sql") not in itertools.pairwise(words):
            return []  # a Python handler (HANDLER + IMPORTS): no SQL in the statement
        body = re.search(r"\bas\s*\$\$(?P<block>.*)\$\$\s*$", sql, re.I | re.S)
        return _block_units(statement, "procedure body", body["block"]) if body else whole
    return whole


def plan_units(statements: Iterable[Statement]) -> list[Unit]:
    return [unit for statement in statements for unit in statement_units(statement.sql)]
