"""How the catalog check reads sqlglot trees: called names and their arguments, table-function
calls, scopes, and the made-up databases of the sqlglot schema under which table-function
outputs and command output (read through RESULT_SCAN) are kept."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.scope import Scope

DIALECT = "snowflake"
# The sqlglot schema keeps table-function outputs under this (made-up) database, and a command's
# output read through RESULT_SCAN under the other.
TABLE_FUNCTION_DB = "snowflake_table_function"
COMMAND_OUTPUT_DB = "snowflake_command_output"
DIRECTORY = "directory"
# RESULT_SCAN arguments that name the statement run last: RESULT_SCAN(-1) is
# RESULT_SCAN(LAST_QUERY_ID()), and no argument is RESULT_SCAN(-1) ("RESULT_SCAN", Arguments).
_LAST_QUERY = frozenset({"last_query_id()", "last_query_id(-1)", "-1"})


@dataclass(frozen=True)
class Known:
    """What the check knows of a source in a query."""

    display: str
    columns: frozenset[str] | None  # None: unknown relation
    complete: bool = True
    case_sensitive: bool = False  # a command's output: lower-case names, matched exactly

    def name_of(self, column: exp.Column) -> str:
        """The column's name as Snowflake resolves it against this source: case-blind, except
        for a command's output, whose names are lower case, so that only a quoted lower-case
        identifier matches (an unquoted one is folded to upper case)."""
        identifier = column.this
        if self.case_sensitive and isinstance(identifier, exp.Identifier):
            return identifier.this if identifier.quoted else identifier.this.upper()
        return column.name.lower()


def _dotted(node: exp.Expr) -> str:
    if isinstance(node, exp.Dot):
        return f"{_dotted(node.this)}.{_dotted(node.expression)}"
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.name.lower() if node.name else node.sql(DIALECT).lower()


def function_name(node: exp.Func) -> str:
    """The called name, lower case and with its qualifier (snowflake.alert.scheduled_time)."""
    name = str(node.this).lower() if isinstance(node, exp.Anonymous) else node.sql_name().lower()
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        return f"{_dotted(parent.this)}.{name}"
    return name


def is_snowflake_owned(name: str) -> bool:
    return name.startswith(("system$", "snowflake.", "information_schema."))


def table_function_key(name: str) -> str:
    """snowflake.information_schema.task_history / <db>.information_schema.x -> the catalog key."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if "information_schema" in parts else name


def call_arguments(node: exp.Func) -> list[exp.Expr]:
    """A call's arguments in order (a typed function keeps them under several keys)."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    values = [node.args.get(key) for key in node.arg_types]
    return [
        v
        for value in values
        for v in (value if isinstance(value, list) else [value])
        if isinstance(v, exp.Expr)
    ]


def reads_last_query(call: exp.Func) -> bool:
    """RESULT_SCAN(LAST_QUERY_ID()), (-1) or (): the statement run last."""
    arguments = ["".join(a.sql(DIALECT).lower().split()) for a in call_arguments(call)]
    return not arguments or (len(arguments) == 1 and arguments[0] in _LAST_QUERY)


def call_name(call: exp.Func) -> str:
    """function_name, for a function sqlglot knows by another name the name Snowflake calls it
    by: FLATTEN is parsed as EXPLODE and written back as FLATTEN."""
    if isinstance(call, exp.Anonymous):
        return function_name(call)
    written = re.match(r"([A-Za-z_][\w$]*)\s*\(", call.sql(DIALECT))
    return written[1].lower() if written else function_name(call)


def table_call(rows: exp.TableFromRows) -> exp.Func | None:
    """The function called in TABLE(...): information_schema.task_history(...) -> the call."""
    call = rows.this.expression if isinstance(rows.this, exp.Dot) else rows.this
    return call if isinstance(call, exp.Func) else None


def scope_chain(scope: Scope) -> list[Scope]:
    chain = []
    current: Scope | None = scope
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain


@functools.cache
def sqlglot_type(kind: str) -> str:
    try:
        exp.DataType.build(kind, dialect=DIALECT)
    except (ParseError, ValueError):
        return "UNKNOWN"
    return kind


def address_of(name: str) -> tuple[str, str, str]:
    catalog, db, table = name.split(".")
    return catalog, db, table


def table_function_address(key: str) -> tuple[str, str, str]:
    schema, _, name = key.rpartition(".")
    return TABLE_FUNCTION_DB, schema or "builtin", name


def function_key(address: tuple[str, str, str]) -> str:
    _, schema, name = address
    return name if schema == "builtin" else f"{schema}.{name}"


def schema_table(address: tuple[str, str, str], display: str) -> exp.Table:
    catalog, db, name = address
    table = exp.Table(
        this=exp.to_identifier(name), db=exp.to_identifier(db), catalog=exp.to_identifier(catalog)
    )
    table.meta["display"] = display
    return table
