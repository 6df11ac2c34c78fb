"""The catalog of Snowflake-owned objects (snowflake_catalog.yml, next to this module): the
documented columns of Snowflake's views, table functions, streams on stages and command output,
and the documented functions, each entry with the URL and title of its documentation page.
`lint_catalog` says what is wrong with the file; `load_catalog` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CATALOG_PATH = Path(__file__).with_name("snowflake_catalog.yml")
DOCS_PREFIX = "https://docs.snowflake.com/"
SECTIONS = ("views", "table_functions", "stage_streams", "functions", "commands")
# A table function whose columns are those of the statement it reads (RESULT_SCAN).
COLUMNS_OF_PREVIOUS_STATEMENT = "previous_statement"


class CatalogError(ValueError):
    """The catalog file is not usable (see lint_catalog)."""


@dataclass(frozen=True)
class Source:
    url: str
    title: str


@dataclass(frozen=True)
class Relation:
    """A Snowflake-owned view, table-function output, stream on a stage or command output, and
    its columns."""

    name: str
    columns: Mapping[str, str]
    source: Source
    arguments: frozenset[str] = frozenset()  # a table function's named arguments
    positional: int = 0  # how many positional arguments a table function takes at most
    columns_of_previous: bool = False  # its columns are the previous statement's (RESULT_SCAN)


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int
    source: Source
    argument_values: frozenset[str] | None = None  # documented values of the only argument


@dataclass(frozen=True)
class Catalog:
    views: Mapping[str, Relation]
    table_functions: Mapping[str, Relation]
    stage_stream: Relation
    functions: Mapping[str, Function]
    commands: Mapping[str, Relation]  # "show tasks": the columns of its output


def _source_problems(entry: Mapping[str, Any]) -> list[str]:
    source = entry.get("source")
    if not isinstance(source, Mapping):
        return ["no source (the url and title of its documentation page)"]
    problems = []
    if not str(source.get("url") or "").startswith(DOCS_PREFIX):
        problems.append(f"source url is not a {DOCS_PREFIX} page")
    if not str(source.get("title") or "").strip():
        problems.append("source has no page title")
    return problems


def _mapping_problems(entry: Mapping[str, Any], key: str) -> list[str]:
    value = entry.get(key)
    if not isinstance(value, Mapping) or not value:
        return [f"no {key}"]
    bad = [name for name, kind in value.items() if name != str(name).lower() or not kind]
    return [f"{key} must map lower-case names to types: {bad}"] if bad else []


def _entry_problems(section: str, entry: Any, data: Mapping[str, Any]) -> list[str]:
    if not isinstance(entry, Mapping):
        return ["not a mapping"]
    problems = _source_problems(entry)
    if section in ("views", "commands"):
        problems += _mapping_problems(entry, "columns")
    if section == "table_functions":
        problems += _table_function_problems(entry)
    if section == "stage_streams":
        problems += _mapping_problems(entry, "metadata_columns")
        if entry.get("columns_of") not in (data.get("table_functions") or {}):
            problems.append("columns_of names no table function")
    if section == "functions":
        arity = entry.get("arity")
        if not (
            isinstance(arity, list)
            and len(arity) == 2
            and all(isinstance(n, int) for n in arity)
            and 0 <= arity[0] <= arity[1]
        ):
            problems.append("arity must be [min, max] argument counts")
        values = entry.get("argument_values")
        if values is not None and not (isinstance(values, list) and values):
            problems.append("argument_values must be a non-empty list")
    return problems


def _table_function_problems(entry: Mapping[str, Any]) -> list[str]:
    problems = []
    if "columns_of" in entry:
        if entry["columns_of"] != COLUMNS_OF_PREVIOUS_STATEMENT or "columns" in entry:
            problems.append(f"columns_of must be {COLUMNS_OF_PREVIOUS_STATEMENT}, without columns")
    else:
        problems += _mapping_problems(entry, "columns")
    if not isinstance(entry.get("arguments"), list):
        problems.append("no arguments list (empty when it takes none)")
    positional = entry.get("positional", 0)
    if isinstance(positional, bool) or not isinstance(positional, int) or positional < 0:
        problems.append("positional must be a count of positional arguments")
    return problems


def lint_catalog(data: Any) -> list[str]:
    """Everything wrong with a parsed catalog file, one line each (empty when usable)."""
    if not isinstance(data, Mapping):
        return ["the catalog is not a mapping"]
    problems = [f"unknown section {name!r}" for name in data if name not in SECTIONS]
    for section in SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, Mapping) or not entries:
            problems.append(f"{section}: missing or empty")
            continue
        for name, entry in entries.items():
            if name != str(name).lower():
                problems.append(f"{section}.{name}: names are lower case")
            if section == "views" and len(str(name).split(".")) != 3:
                problems.append(f"{section}.{name}: a view is named database.schema.view")
            problems += [f"{section}.{name}: {p}" for p in _entry_problems(section, entry, data)]
    return problems


def _source(entry: Mapping[str, Any]) -> Source:
    return Source(str(entry["source"]["url"]), str(entry["source"]["title"]))


def _relation(name: str, entry: Mapping[str, Any]) -> Relation:
    return Relation(
        name,
        {str(k): str(v) for k, v in (entry.get("columns") or {}).items()},
        _source(entry),
        frozenset(str(a).lower() for a in entry.get("arguments") or ()),
        int(entry.get("positional", 0)),
        entry.get("columns_of") == COLUMNS_OF_PREVIOUS_STATEMENT,
    )


def catalog_from_data(data: Any) -> Catalog:
    if problems := lint_catalog(data):
        raise CatalogError("; ".join(problems))
    table_functions = {n: _relation(n, e) for n, e in data["table_functions"].items()}
    (stream_name, stream), *_ = data["stage_streams"].items()
    stream_columns = {
        **table_functions[stream["columns_of"]].columns,
        **{str(k): str(v) for k, v in stream["metadata_columns"].items()},
    }
    return Catalog(
        views={n: _relation(n, e) for n, e in data["views"].items()},
        table_functions=table_functions,
        stage_stream=Relation(stream_name, stream_columns, _source(stream)),
        functions={
            n: Function(
                n,
                e["arity"][0],
                e["arity"][1],
                _source(e),
                frozenset(str(v).upper() for v in e["argument_values"])
                if e.get("argument_values")
                else None,
            )
            for n, e in data["functions"].items()
        },
        commands={n: _relation(n, e) for n, e in data["commands"].items()},
    )


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return catalog_from_data(yaml.safe_load(path.read_text()))
