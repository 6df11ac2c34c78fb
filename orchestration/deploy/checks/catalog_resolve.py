"""What the catalog check knows of the relations a statement names: the catalog's and the
project's relations as a sqlglot schema, the project's own CREATE TABLE / VIEW / STREAM
statements registered as they come, table functions and RESULT_SCAN rewritten into tables of
that schema, and sqlglot's qualification against it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope
from sqlglot.schema import MappingSchema

from orchestration.deploy.checks.catalog_project import ProjectRelation
from orchestration.deploy.checks.catalog_sql import (
    COMMAND_OUTPUT_DB,
    DIALECT,
    DIRECTORY,
    TABLE_FUNCTION_DB,
    Known,
    address_of,
    call_name,
    function_key,
    reads_last_query,
    schema_table,
    sqlglot_type,
    table_call,
    table_function_address,
    table_function_key,
)
from orchestration.deploy.checks.catalog_units import Unit
from orchestration.deploy.checks.snowflake_catalog import Catalog, Relation


@dataclass
class Resolver:
    """The catalog, the plan's database and the project's relations registered so far."""

    catalog: Catalog
    database: str
    project: dict[str, ProjectRelation] = field(default_factory=dict)
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
                name: sqlglot_type(kind) for name, kind in columns.items()
            }

        for name, relation in self.catalog.views.items():
            put(address_of(name), relation.columns)
        for name, relation in self.catalog.table_functions.items():
            if relation.columns:
                put(table_function_address(name), relation.columns)
        for name, relation in self.project.items():
            put(address_of(name), dict.fromkeys(relation.columns, "UNKNOWN"))
        return tree

    def known(self, table: exp.Table) -> Known:
        address = (table.catalog.lower(), table.db.lower(), table.name.lower())
        name = ".".join(address)
        display = table.meta.get("display") or name
        if address[0] == TABLE_FUNCTION_DB:
            relation = self.catalog.table_functions[function_key(address)]
            return Known(display, frozenset(relation.columns))
        if address[0] == COMMAND_OUTPUT_DB:
            relation = self.catalog.commands[address[2].replace("_", " ")]
            return Known(display, frozenset(relation.columns), case_sensitive=True)
        if name in self.catalog.views:
            return Known(name, frozenset(self.catalog.views[name].columns))
        if name in self.project:
            found = self.project[name]
            return Known(name, frozenset(found.columns), found.complete)
        return Known(name, None)

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

    def scanned(self, call: exp.Func, previous: str) -> str | None:
        """The catalogued command whose output RESULT_SCAN reads: the statement run last
        before it in its block (LAST_QUERY_ID(), -1 or no argument), when that statement is
        one of the catalog's commands."""
        if not reads_last_query(call):
            return None
        statement = " ".join(previous.lower().split())
        return next((c for c in self.catalog.commands if f"{statement} ".startswith(f"{c} ")), None)

    # -- relations --------------------------------------------------------------------------

    def table_function_of(
        self, rows: exp.TableFromRows
    ) -> tuple[exp.Func, str, Relation | None] | None:
        """The function a TABLE(...) calls, its catalog key and its catalog entry (None when
        the catalog has none); None when TABLE(...) calls no function."""
        call = table_call(rows)
        if call is None:
            return None
        key = table_function_key(call_name(call))
        return call, key, self.catalog.table_functions.get(key)

    def rewrite_sources(self, expression: exp.Expr, previous: str = "") -> exp.Expr:
        """Table functions become tables of the sqlglot schema (their documented outputs);
        RESULT_SCAN becomes the output of the catalogued command it reads (see scanned)."""
        for rows in list(expression.find_all(exp.TableFromRows)):
            called = self.table_function_of(rows)
            if called is None or called[2] is None:
                continue
            call, key, relation = called
            if relation.columns_of_previous:
                command = self.scanned(call, previous)
                if command is None:
                    continue
                address = (COMMAND_OUTPUT_DB, "command", command.replace(" ", "_"))
                table = schema_table(address, f"{command} ({key})")
            else:
                table = schema_table(table_function_address(key), f"{key}()")
            if alias := rows.args.get("alias"):
                table.set("alias", alias.copy())
            rows.replace(table)
        for stage in list(expression.find_all(exp.DirectoryStage)):
            table = stage.parent
            if isinstance(table, exp.Table):
                replacement = schema_table(
                    table_function_address(DIRECTORY), f"directory({stage.this.sql(DIALECT)})"
                )
                if alias := table.args.get("alias"):
                    replacement.set("alias", alias.copy())
                table.replace(replacement)
        return expression

    def source_known(self, source: exp.Expr | Scope) -> Known:
        if isinstance(source, Scope):
            query = source.expression
            selects = [s.lower() for s in getattr(query, "named_selects", [])]
            alias = query.parent.alias if isinstance(query.parent, exp.Subquery | exp.CTE) else ""
            display = f"subquery {alias.lower()}" if alias else "subquery"
            if not selects or "*" in selects:
                return Known(display, None)
            return Known(display, frozenset(selects))
        if isinstance(source, exp.Table):
            return self.known(source)
        return Known(source.sql(DIALECT), None)
