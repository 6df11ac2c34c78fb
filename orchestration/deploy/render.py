"""Jinja rendering for the deploy templates: the templates lay out, Python decides."""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from snowflake.connector.util_text import split_statements

TEMPLATES = Path(__file__).resolve().parent / "templates"


def sql_string(value: object) -> str:
    """A single-quoted SQL string literal."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def sql_bool(value: object) -> str:
    return "true" if value else "false"


def yaml_string(value: object) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(str(value))


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # SQL and YAML, not HTML
    )
    env.filters["sql_string"] = sql_string
    env.filters["sql_bool"] = sql_bool
    env.filters["yaml_string"] = yaml_string
    return env


def render_text(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_statements(template: str, **context: Any) -> list[tuple[str, str]]:
    """The template's statements as (sql without trailing ';', leading comment text)."""
    text = render_text(template, **context)
    statements: list[tuple[str, str]] = []
    for raw, _ in split_statements(io.StringIO(text), remove_comments=False):
        lines = raw.strip().splitlines()
        notes = []
        while lines and lines[0].lstrip().startswith("--"):
            notes.append(lines.pop(0).lstrip()[2:].strip())
        sql = "\n".join(lines).strip().rstrip(";").rstrip()
        if sql:
            statements.append((sql, " ".join(notes)))
    return statements
