"""The catalog check's findings on one parsed unit: every Snowflake-owned function and table
function catalogued with documented arguments, every column a query, an INSERT or a MERGE
names found in its relation (a dbt model's undocumented column apart)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from orchestration.deploy.checks.catalog_resolve import Resolver
from orchestration.deploy.checks.catalog_sql import (
    DIALECT,
    Known,
    call_arguments,
    function_name,
    is_snowflake_owned,
    reads_last_query,
    scope_chain,
    table_call,
)
from orchestration.deploy.checks.catalog_units import Unit


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


@dataclass
class ColumnChecker(Resolver):
    """Checks units against what the Resolver knows and keeps what it finds."""

    violations: list[Finding] = field(default_factory=list)
    uncatalogued: list[Finding] = field(default_factory=list)
    undocumented: list[Finding] = field(default_factory=list)

    def violation(self, unit: Unit, subject: str, name: str, problem: str) -> None:
        self.violations.append(Finding(unit.statement, unit.origin, subject, name, problem))

    def functions(self, unit: Unit, expression: exp.Expr) -> None:
        table_calls = {id(table_call(rows)) for rows in expression.find_all(exp.TableFromRows)}
        for node in expression.find_all(exp.Func):
            name = function_name(node)
            if id(node) not in table_calls and is_snowflake_owned(name):
                self.function(unit, name, node)
        for rows in expression.find_all(exp.TableFromRows):
            self.table_function(unit, rows)

    def function(self, unit: Unit, name: str, node: exp.Func) -> None:
        documented = self.catalog.functions.get(name)
        if documented is None:
            self.violation(unit, name, name, "not in catalog")
            return
        arguments = call_arguments(node)
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
        called = self.table_function_of(rows)
        if called is None:
            return
        call, name, relation = called
        if relation is None:
            finding = Finding(unit.statement, unit.origin, name, name, "not in catalog")
            (self.violations if is_snowflake_owned(name) else self.uncatalogued).append(finding)
            return
        positional = 0
        for argument in call_arguments(call):
            if isinstance(argument, exp.Kwarg):
                keyword = argument.this.name.lower()
                if keyword not in relation.arguments:
                    self.violation(unit, name, keyword, "undocumented argument")
                continue
            positional += 1
            if positional > relation.positional:
                self.violation(unit, name, argument.sql(DIALECT), "undocumented argument")
        if relation.columns_of_previous and self.scanned(call, unit.previous) is None:
            if not reads_last_query(call):
                read = ", ".join(a.sql(DIALECT) for a in call_arguments(call))
            else:
                read = unit.previous.splitlines()[0] if unit.previous else "(no statement)"
            problem = "reads a statement the catalog has no output columns for"
            self.uncatalogued.append(Finding(unit.statement, unit.origin, name, read, problem))

    def report_column(self, unit: Unit, known: Known, column: str) -> None:
        if known.columns is None or column in known.columns:
            return
        finding = Finding(unit.statement, unit.origin, known.display, column, "no such column")
        (self.violations if known.complete else self.undocumented).append(finding)

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
        chain = scope_chain(scope)
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
            aliases[using.alias.lower()] = Known(
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

    def relation(self, unit: Unit, table: exp.Table) -> Known:
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
