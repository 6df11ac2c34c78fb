"""SQL run by the step handlers and the orchestrator: one file per statement, `?` binds only."""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from snowflake.connector.util_text import split_statements


@cache
def read_sql(name: str) -> str:
    """The text of `snowpark_procs/sql/<name>.sql`."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def sql_statements(name: str) -> list[str]:
    """The statements of a multi-statement file such as `schema`, comments removed."""
    return [
        statement.rstrip(";").strip()
        for statement, _ in split_statements(io.StringIO(read_sql(name)), remove_comments=True)
        if statement.strip().rstrip(";").strip()
    ]
