"""Qualify every column and function the deploy plan uses against a catalog of Snowflake objects.

fakesnow has no ACCOUNT_USAGE, no TASK_HISTORY() table function and no SYSTEM$ functions, so a
column the plan reads from a Snowflake-owned view that the view does not have only failed on the
account (production audit finding 5: NEXT_SCHEDULED_TIME read from
SNOWFLAKE.ACCOUNT_USAGE.TASK_HISTORY, which has none). This check parses every plan statement with
sqlglot -- task bodies, what their EXECUTE IMMEDIATE $$...$$ blocks evaluate, SQL procedure
bodies and alert conditions and actions included -- and qualifies each column reference against:

- snowflake_catalog.yml (next to this module): the documented columns of the Snowflake-owned
  views, table functions (INFORMATION_SCHEMA.TASK_HISTORY(), DIRECTORY(@stage), FLATTEN), streams
  on stages and command output (SHOW TASKS), each entry with the URL and title of its
  documentation page;
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
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from orchestration.deploy.checks.scripting import (
    EXPRESSION,
    block_parts,
    dollar_body,
    matching_paren,
    strip_comments,
    top_level_words,
)

CATALOG_PATH = Path(__file__).with_name("snowflake_catalog.yml")
REPO_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_FILE = REPO_ROOT / "dbt_project.yml"
DIALECT = "snowflake"
DOCS_PREFIX = "https://docs.snowflake.com/"
SECTIONS = ("views", "table_functions", "stage_streams", "functions", "commands")
# The sqlglot schema keeps table-function outputs under this (made-up) database, and a command's
# output read through RESULT_SCAN under the other.
TABLE_FUNCTION_DB = "snowflake_table_function"
COMMAND_OUTPUT_DB = "snowflake_command_output"
DIRECTORY = "directory"
# A table function whose columns are those of the statement it reads (RESULT_SCAN).
COLUMNS_OF_PREVIOUS_STATEMENT = "previous_statement"
# RESULT_SCAN arguments that name the statement run last: RESULT_SCAN(-1) is
# RESULT_SCAN(LAST_QUERY_ID()), and no argument is RESULT_SCAN(-1) ("RESULT_SCAN", Arguments).
_LAST_QUERY = frozenset({"last_query_id()", "last_query_id(-1)", "-1"})


class CatalogError(ValueError):
    """The catalog file is not usable (see lint_catalog)."""


class Statement(Protocol):
    """What the check reads of a plan statement (orchestration.deploy.plan.PlanStatement)."""

    @property
    def sql(self) -> str: ...


# --- the catalog -------------------------------------------------------------------------


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


# --- the project's relations -------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRelation:
    """A relation the project creates: `complete` False when only its documented columns are
    known (dbt models)."""

    name: str  # database.schema.relation, lower case
    columns: tuple[str, ...]
    complete: bool = True


def _dbt_schema(models_config: Mapping[str, Any], folders: Sequence[str]) -> str | None:
    """The +schema dbt_project.yml gives a model in these folders (the deepest one wins)."""
    schema = models_config.get("+schema")
    node: Any = models_config
    for folder in folders:
        node = node.get(folder) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            break
        schema = node.get("+schema", schema)
    return str(schema) if schema else None


def dbt_relations(
    database: str, project_file: Path = DBT_PROJECT_FILE
) -> dict[str, ProjectRelation]:
    """The dbt models with a +schema, as database.schema.model with their documented columns.
    The schema is the folder config's as is (dbt_project/macros/generate_schema_name.sql)."""
    project = yaml.safe_load(project_file.read_text())
    model_root = project_file.parent / project["model-paths"][0]
    models_config = project["models"][project["name"]]
    relations: dict[str, ProjectRelation] = {}
    for properties in sorted(model_root.rglob("_*.yml")):
        for model in yaml.safe_load(properties.read_text()).get("models") or []:
            sql_files = sorted(model_root.rglob(f"{model['name']}.sql"))
            if len(sql_files) != 1:
                continue
            folders = sql_files[0].parent.relative_to(model_root).parts
            schema = _dbt_schema(models_config, folders)
            if schema is None:
                continue
            name = f"{database}.{schema}.{model['name']}".lower()
            columns = tuple(str(c["name"]).lower() for c in model.get("columns") or ())
            relations[name] = ProjectRelation(name, columns, complete=False)
    return relations


# --- statements into checkable units -----------------------------------------------------


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


def _top_level_word(sql: str, word: str, after: int = -1) -> int | None:
    return next((i for i, w in top_level_words(sql) if w == word and i > after), None)


def _body_units(statement: str, origin: str, body: str) -> list[Unit]:
    if re.match(r"execute\s+immediate\s+\$\$", body, re.I) and (inner := dollar_body(body)):
        return _block_units(statement, f"{origin} (execute immediate)", inner)
    if re.match(r"(declare|begin)\b", body, re.I):
        return _block_units(statement, origin, body)
    return [Unit(statement, origin, _call_as_select(body))]


def _alert_units(statement: str, sql: str) -> list[Unit]:
    condition = _top_level_word(sql, "if")
    opening = sql.find("(", condition) if condition is not None else -1
    if opening < 0 or sql[condition + 2 : opening].strip():
        return [Unit(statement, "statement", sql)]
    close = matching_paren(sql, opening)
    then = _top_level_word(sql, "then", close)
    action = sql[then + 4 :].strip() if then is not None else ""
    units = [Unit(statement, "alert condition", f"select {sql[opening + 1 : close].strip()}")]
    return [*units, *_body_units(statement, "alert action", action)] if action else units


def statement_units(sql: str) -> list[Unit]:
    """The parseable units of one plan statement."""
    statement = sql.strip().splitlines()[0].strip()
    whole = [Unit(statement, "statement", _call_as_select(sql))]  # when no part is recognised
    head = strip_comments(sql).lower().strip()
    if re.match(r"create\s+(or\s+(alter|replace)\s+)?task\b", head):
        body_at = _top_level_word(sql, "as")
        body = sql[body_at + 2 :].strip() if body_at is not None else ""
        return _body_units(statement, "task body", body) if body else whole
    if re.match(r"create\s+(or\s+(alter|replace)\s+)?alert\b", head):
        return _alert_units(statement, sql)
    if re.match(r"create\s+(or\s+replace\s+)?procedure\b", head):
        words = [w for _, w in top_level_words(sql)]
        if ("language", "sql") not in itertools.pairwise(words):
            return []  # a Python handler (HANDLER + IMPORTS): no SQL in the statement
        body = re.search(r"\bas\s*\$\$(?P<block>.*)\$\$\s*$", sql, re.I | re.S)
        return _block_units(statement, "procedure body", body["block"]) if body else whole
    return whole


def plan_units(statements: Iterable[Statement]) -> list[Unit]:
    return [unit for statement in statements for unit in statement_units(statement.sql)]


# --- findings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    statement: str
    origin: str
    subject: str  # the relation (or function) concerned
    name: str  # the column (or function, or argument)
    problem: str

    def __str__(self) -> str:
        return f"{self.statement} [{self.origin}]: {self.subject}: {self.problem}: {self.name}"


@dataclass(frozen=True)
class Gap:
    """A unit sqlglot could not parse (or qualify): not checked."""

    unit: Unit
    reason: str


@dataclass(frozen=True)
class Report:
    violations: tuple[Finding, ...]
    gaps: tuple[Gap, ...]
    commands: tuple[Unit, ...]  # parsed only as an opaque Command: nothing to qualify
    uncatalogued: tuple[Finding, ...]  # relations neither Snowflake's nor the project's
    undocumented: tuple[Finding, ...]  # columns a dbt model's documentation does not list
    checked: tuple[Unit, ...] = ()  # parsed and qualified


# --- the check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Known:
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


def _is_snowflake_owned(name: str) -> bool:
    return name.startswith(("system$", "snowflake.", "information_schema."))


def _table_function_key(name: str) -> str:
    """snowflake.information_schema.task_history / <db>.information_schema.x -> the catalog key."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if "information_schema" in parts else name


@dataclass
class _Checker:
    catalog: Catalog
    database: str
    project: dict[str, ProjectRelation] = field(default_factory=dict)
    violations: list[Finding] = field(default_factory=list)
    uncatalogued: list[Finding] = field(default_factory=list)
    undocumented: list[Finding] = field(default_factory=list)
    _schemas: dict[frozenset[str], MappingSchema] = field(default_factory=dict)

    # -- the sqlglot schema ---------------------------------------------------------------

    def schema(self) -> MappingSchema:
        """The catalog's and the project's relations as a sqlglot schema (rebuilt when the
        project's relations change)."""
        key = frozenset(self.project)
        if key not in self._schemas:
            self._schemas = {key: MappingSchema(self.schema_tree(), dialect=DIALECT)}
        return self._schemas[key]

    def schema_tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}

        def put(address: tuple[str, str, str], columns: Mapping[str, str]) -> None:
            catalog, db, table = address
            tree.setdefault(catalog, {}).setdefault(db, {})[table] = {
                name: _sqlglot_type(kind) for name, kind in columns.items()
            }

        for name, relation in self.catalog.views.items():
            put(_address_of(name), relation.columns)
        for name, relation in self.catalog.table_functions.items():
            if relation.columns:
                put(_table_function_address(name), relation.columns)
        for name, relation in self.project.items():
            put(_address_of(name), dict.fromkeys(relation.columns, "UNKNOWN"))
        return tree

    def known(self, table: exp.Table) -> _Known:
        address = (table.catalog.lower(), table.db.lower(), table.name.lower())
        name = ".".join(address)
        display = table.meta.get("display") or name
        if address[0] == TABLE_FUNCTION_DB:
            relation = self.catalog.table_functions[_function_key(address)]
            return _Known(display, frozenset(relation.columns))
        if address[0] == COMMAND_OUTPUT_DB:
            relation = self.catalog.commands[address[2].replace("_", " ")]
            return _Known(display, frozenset(relation.columns), case_sensitive=True)
        if name in self.catalog.views:
            return _Known(name, frozenset(self.catalog.views[name].columns))
        if name in self.project:
            found = self.project[name]
            return _Known(name, frozenset(found.columns), found.complete)
        return _Known(name, None)

    # -- registering the project's relations ----------------------------------------------

    def register(self, unit: Unit, expression: exp.Expr) -> None:
        if isinstance(expression, exp.Command):
            stream = re.match(
                r"create\s+(?:or\s+replace\s+)?stream\s+(?:if\s+not\s+exists\s+)?([\w$.]+)"
                r"\s+on\s+stage\s+",
                unit.sql,
                re.I,
            )
            if stream:
                name = self.qualified_name(stream[1])
                columns = tuple(self.catalog.stage_stream.columns)
                self.project[name] = ProjectRelation(name, columns)
            return
        if not isinstance(expression, exp.Create):
            return
        kind = str(expression.args.get("kind") or "").upper()
        target = expression.this
        if (
            kind == "TABLE"
            and isinstance(target, exp.Schema)
            and isinstance(target.this, exp.Table)
        ):
            name = self.table_name(target.this)
            columns = tuple(
                c.name.lower() for c in target.expressions if isinstance(c, exp.ColumnDef)
            )
            self.project[name] = ProjectRelation(name, columns)
        elif kind == "VIEW" and isinstance(target, exp.Table):
            name = self.table_name(target)
            qualified = self.qualified(self.rewrite_sources(expression.copy(), unit.previous))
            query = qualified.expression if qualified is not None else None
            if isinstance(query, exp.Query):
                columns = tuple(s.lower() for s in query.named_selects)
                self.project[name] = ProjectRelation(name, columns, "*" not in columns)

    def qualified_name(self, dotted: str) -> str:
        parts = dotted.lower().split(".")
        return ".".join([*[self.database, "public"][: max(0, 3 - len(parts))], *parts])

    def table_name(self, table: exp.Table) -> str:
        return self.qualified_name(".".join(p.name for p in table.parts))

    # -- qualification ----------------------------------------------------------------------

    def qualified(self, expression: exp.Expr) -> exp.Expr | None:
        try:
            return qualify(
                expression,
                dialect=DIALECT,
                schema=self.schema(),
                catalog=self.database,
                db="public",
                validate_qualify_columns=False,
                allow_partial_qualification=True,
                quote_identifiers=False,
            )
        except OptimizeError:
            return None

    # -- functions ------------------------------------------------------------------------

    def violation(self, unit: Unit, subject: str, name: str, problem: str) -> None:
        self.violations.append(Finding(unit.statement, unit.origin, subject, name, problem))

    def functions(self, unit: Unit, expression: exp.Expr) -> None:
        table_calls = {id(_table_call(rows)) for rows in expression.find_all(exp.TableFromRows)}
        for node in expression.find_all(exp.Func):
            name = function_name(node)
            if id(node) not in table_calls and _is_snowflake_owned(name):
                self.function(unit, name, node)
        for rows in expression.find_all(exp.TableFromRows):
            self.table_function(unit, rows)

    def function(self, unit: Unit, name: str, node: exp.Func) -> None:
        documented = self.catalog.functions.get(name)
        if documented is None:
            self.violation(unit, name, name, "not in catalog")
            return
        arguments = _arguments(node)
        if not documented.min_args <= len(arguments) <= documented.max_args:
            arity = f"takes {documented.min_args} to {documented.max_args} arguments, called with"
            self.violation(unit, name, str(len(arguments)), arity)
        elif documented.argument_values is not None:
            (argument,) = arguments
            literal = isinstance(argument, exp.Literal) and argument.is_string
            value = argument.name.upper() if literal else argument.sql(DIALECT)
            if value not in documented.argument_values:
                self.violation(unit, name, value, "undocumented argument")

    def table_function(self, unit: Unit, rows: exp.TableFromRows) -> None:
        call = _table_call(rows)
        if call is None:
            return
        name = _table_function_key(_call_name(call))
        relation = self.catalog.table_functions.get(name)
        if relation is None:
            finding = Finding(unit.statement, unit.origin, name, name, "not in catalog")
            (self.violations if _is_snowflake_owned(name) else self.uncatalogued).append(finding)
            return
        positional = 0
        for argument in _arguments(call):
            if isinstance(argument, exp.Kwarg):
                keyword = argument.this.name.lower()
                if keyword not in relation.arguments:
                    self.violation(unit, name, keyword, "undocumented argument")
                continue
            positional += 1
            if positional > relation.positional:
                self.violation(unit, name, argument.sql(DIALECT), "undocumented argument")
        if relation.columns_of_previous and self.scanned(call, unit.previous) is None:
            if not _reads_last_query(call):
                read = ", ".join(a.sql(DIALECT) for a in _arguments(call))
            else:
                read = unit.previous.splitlines()[0] if unit.previous else "(no statement)"
            problem = "reads a statement the catalog has no output columns for"
            self.uncatalogued.append(Finding(unit.statement, unit.origin, name, read, problem))

    def scanned(self, call: exp.Func, previous: str) -> str | None:
        """The catalogued command whose output RESULT_SCAN reads: the statement run last
        before it in its block (LAST_QUERY_ID(), -1 or no argument), when that statement is
        one of the catalog's commands."""
        if not _reads_last_query(call):
            return None
        statement = " ".join(previous.lower().split())
        return next((c for c in self.catalog.commands if f"{statement} ".startswith(f"{c} ")), None)

    # -- relations --------------------------------------------------------------------------

    def rewrite_sources(self, expression: exp.Expr, previous: str = "") -> exp.Expr:
        """Table functions become tables of the sqlglot schema (their documented outputs);
        RESULT_SCAN becomes the output of the catalogued command it reads (see scanned)."""
        for rows in list(expression.find_all(exp.TableFromRows)):
            call = _table_call(rows)
            if call is None:
                continue
            key = _table_function_key(_call_name(call))
            relation = self.catalog.table_functions.get(key)
            if relation is None:
                continue
            if relation.columns_of_previous:
                command = self.scanned(call, previous)
                if command is None:
                    continue
                address = (COMMAND_OUTPUT_DB, "command", command.replace(" ", "_"))
                table = _table(address, f"{command} ({key})")
            else:
                table = _table(_table_function_address(key), f"{key}()")
            if alias := rows.args.get("alias"):
                table.set("alias", alias.copy())
            rows.replace(table)
        for stage in list(expression.find_all(exp.DirectoryStage)):
            table = stage.parent
            if isinstance(table, exp.Table):
                replacement = _table(
                    _table_function_address(DIRECTORY), f"directory({stage.this.sql(DIALECT)})"
                )
                if alias := table.args.get("alias"):
                    replacement.set("alias", alias.copy())
                table.replace(replacement)
        return expression

    def report_column(self, unit: Unit, known: _Known, column: str) -> None:
        if known.columns is None or column in known.columns:
            return
        finding = Finding(unit.statement, unit.origin, known.display, column, "no such column")
        (self.violations if known.complete else self.undocumented).append(finding)

    def source_known(self, source: exp.Expr | Scope) -> _Known:
        if isinstance(source, Scope):
            query = source.expression
            selects = [s.lower() for s in getattr(query, "named_selects", [])]
            alias = query.parent.alias if isinstance(query.parent, exp.Subquery | exp.CTE) else ""
            display = f"subquery {alias.lower()}" if alias else "subquery"
            if not selects or "*" in selects:
                return _Known(display, None)
            return _Known(display, frozenset(selects))
        if isinstance(source, exp.Table):
            return self.known(source)
        return _Known(source.sql(DIALECT), None)

    def columns(self, unit: Unit, expression: exp.Expr) -> None:
        seen: set[int] = set()
        for scope in traverse_scope(expression):
            for source in scope.sources.values():
                if isinstance(source, exp.Table) and id(source) not in seen:
                    seen.add(id(source))
                    self.relation(unit, source)
            for column in scope.columns:
                if id(column) in seen or isinstance(column.this, exp.Star):
                    continue
                seen.add(id(column))
                self.column(unit, scope, column)

    def column(self, unit: Unit, scope: Scope, column: exp.Column) -> None:
        name = column.name.lower()
        chain = _scope_chain(scope)
        if column.table:
            for candidate in chain:
                source = candidate.sources.get(column.table)
                if source is not None:
                    known = self.source_known(source)
                    self.report_column(unit, known, known.name_of(column))
                    return
            return
        own = [self.source_known(source) for _, source in scope.selected_sources.values()]
        outer = [
            self.source_known(source)
            for candidate in (chain[1:] if scope.is_subquery else [])
            for _, source in candidate.selected_sources.values()
        ]
        if not own or any(s.columns is None or s.name_of(column) in s.columns for s in own + outer):
            return  # a scripting variable, found, or a source the check cannot see into
        if len(own) == 1:
            self.report_column(unit, own[0], own[0].name_of(column))
            return
        displays = ", ".join(sorted({s.display for s in own}))
        finding = Finding(unit.statement, unit.origin, displays, name, "no such column in any of")
        (self.violations if all(s.complete for s in own) else self.undocumented).append(finding)

    def dml(self, unit: Unit, expression: exp.Expr) -> None:
        """INSERT column lists and MERGE's ON / WHEN clauses (outside every query scope)."""
        if isinstance(expression, exp.Insert) and isinstance(expression.this, exp.Schema):
            target = expression.this
            if isinstance(target.this, exp.Table):
                known = self.relation(unit, target.this)
                for identifier in target.expressions:
                    self.report_column(unit, known, identifier.name.lower())
        if isinstance(expression, exp.Merge) and isinstance(expression.this, exp.Table):
            self.merge(unit, expression)

    def merge(self, unit: Unit, merge: exp.Merge) -> None:
        target = self.relation(unit, merge.this)
        aliases = {merge.this.alias_or_name.lower(): target}
        using = merge.args.get("using")
        if isinstance(using, exp.Table):
            aliases[using.alias_or_name.lower()] = self.relation(unit, using)
        elif isinstance(using, exp.Subquery) and isinstance(using.this, exp.Query):
            selects = frozenset(s.lower() for s in using.this.named_selects)
            aliases[using.alias.lower()] = _Known(
                f"subquery {using.alias.lower()}", None if "*" in selects else selects
            )
        clauses = [merge.args.get("on"), merge.args.get("whens")]
        for clause in filter(None, clauses):
            for column in clause.find_all(exp.Column):
                if column.find_ancestor(exp.Subquery, exp.Select):
                    continue
                inserted = (
                    isinstance(column.parent, exp.Tuple)
                    and isinstance(column.parent.parent, exp.Insert)
                    and column.parent is column.parent.parent.this
                )
                if inserted or not column.table:
                    self.report_column(unit, target, column.name.lower())
                elif (known := aliases.get(column.table.lower())) is not None:
                    self.report_column(unit, known, column.name.lower())

    def relation(self, unit: Unit, table: exp.Table) -> _Known:
        """What is known of a table the unit reads or writes; unknown ones are reported."""
        known = self.known(table)
        if known.columns is None:
            name = known.display
            finding = Finding(unit.statement, unit.origin, name, name, "not in catalog")
            owned = name.startswith(("snowflake.", f"{self.database}.information_schema."))
            (self.violations if owned else self.uncatalogued).append(finding)
        return known

    def check(self, unit: Unit, expression: exp.Expr) -> Gap | None:
        self.functions(unit, expression)
        qualified = self.qualified(self.rewrite_sources(expression.copy(), unit.previous))
        if qualified is None:
            return Gap(unit, "sqlglot cannot qualify it")
        self.columns(unit, qualified)
        self.dml(unit, qualified)
        return None


def _arguments(node: exp.Func) -> list[exp.Expr]:
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


def _reads_last_query(call: exp.Func) -> bool:
    """RESULT_SCAN(LAST_QUERY_ID()), (-1) or (): the statement run last."""
    arguments = ["".join(a.sql(DIALECT).lower().split()) for a in _arguments(call)]
    return not arguments or (len(arguments) == 1 and arguments[0] in _LAST_QUERY)


def _call_name(call: exp.Func) -> str:
    """function_name, for a function sqlglot knows by another name the name Snowflake calls it
    by: FLATTEN is parsed as EXPLODE and written back as FLATTEN."""
    if isinstance(call, exp.Anonymous):
        return function_name(call)
    written = re.match(r"([A-Za-z_][\w$]*)\s*\(", call.sql(DIALECT))
    return written[1].lower() if written else function_name(call)


def _table_call(rows: exp.TableFromRows) -> exp.Func | None:
    """The function called in TABLE(...): information_schema.task_history(...) -> the call."""
    call = rows.this.expression if isinstance(rows.this, exp.Dot) else rows.this
    return call if isinstance(call, exp.Func) else None


def _scope_chain(scope: Scope) -> list[Scope]:
    chain = []
    current: Scope | None = scope
    while current is not None:
        chain.append(current)
        current = current.parent
    return chain


@functools.cache
def _sqlglot_type(kind: str) -> str:
    try:
        exp.DataType.build(kind, dialect=DIALECT)
    except (ParseError, ValueError):
        return "UNKNOWN"
    return kind


def _address_of(name: str) -> tuple[str, str, str]:
    catalog, db, table = name.split(".")
    return catalog, db, table


def _table_function_address(key: str) -> tuple[str, str, str]:
    schema, _, name = key.rpartition(".")
    return TABLE_FUNCTION_DB, schema or "builtin", name


def _function_key(address: tuple[str, str, str]) -> str:
    _, schema, name = address
    return name if schema == "builtin" else f"{schema}.{name}"


def _table(address: tuple[str, str, str], display: str) -> exp.Table:
    catalog, db, name = address
    table = exp.Table(
        this=exp.to_identifier(name), db=exp.to_identifier(db), catalog=exp.to_identifier(catalog)
    )
    table.meta["display"] = display
    return table


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
    checker = _Checker(catalog or load_catalog(), database)
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
