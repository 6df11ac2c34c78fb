"""SQL run by the step handlers and the orchestrator: one file per statement, `?` binds only.

Fragments. A query several statements share is written once, in its own file (a SELECT without
binds), and read by the others as the relation `fragment.<file name>`: read_sql puts the
fragment in its place as a derived table. Every file stays one valid statement for sqlfluff
(orchestration/local/lint_sql.py: `fragment.x` reads as a table), and no `fragment.` name is
left in what a statement sends (there is no such schema: a missed one fails loudly).
"""

from __future__ import annotations

import io
import re
from functools import cache
from importlib import resources

from snowflake.connector.util_text import split_statements

FRAGMENT = re.compile(r"\bfragment\.([a-z_]+)\b")


@cache
def read_sql(name: str) -> str:
    """The text of `snowpark_procs/sql/<name>.sql`, each `fragment.<x>` in its code (not in its
    `--` comments) replaced by the fragment `<x>.sql` in parentheses, without its comments."""
    text = resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return "".join(_expanded(line, name) for line in text.splitlines(keepends=True))


def _expanded(line: str, name: str) -> str:
    code, comment, rest = line.partition("--")

    def fragment(found: re.Match[str]) -> str:
        if found.group(1) == name:
            raise ValueError(f"{name}.sql reads itself as a fragment")
        body = read_sql(found.group(1)).splitlines()
        return "(\n" + "\n".join(b for b in body if not b.lstrip().startswith("--")) + "\n)"

    return FRAGMENT.sub(fragment, code) + comment + rest


def sql_statements(name: str) -> list[str]:
    """The statements of a multi-statement file such as `schema`, comments removed."""
    return [
        statement.rstrip(";").strip()
        for statement, _ in split_statements(io.StringIO(read_sql(name)), remove_comments=True)
        if statement.strip().rstrip(";").strip()
    ]
