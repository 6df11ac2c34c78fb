"""SQL files of the local counterparts (`orchestration/local/*.sql`)."""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from snowflake.connector.util_text import split_statements

from snowpark_procs.sql import sql_statements


@cache
def local_sql_statements(name: str) -> tuple[str, ...]:
    """The statements of `orchestration/local/<name>.sql`, comments removed."""
    text = resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    return tuple(
        statement.strip().rstrip(";").strip()
        for statement, _ in split_statements(io.StringIO(text), remove_comments=True)
        if statement.strip().rstrip(";").strip()
    )


def pipeline_objects() -> tuple[str, ...]:
    """What the embedded stack creates in its database: the pipeline's tables
    (snowpark_procs/sql/schema.sql, the same file the plan deploys) and the local counterparts of
    Snowflake's own objects (objects.sql)."""
    return (*sql_statements("schema"), *local_sql_statements("objects"))
