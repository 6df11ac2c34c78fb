"""What reading and writing data needs: queries and DML (parsed with sqlglot), views (read as
their owner), streams and stages, functions, TASK_HISTORY() and the ACCOUNT_USAGE views."""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from orchestration.deploy.checks.privilege_inputs import Actor
from orchestration.deploy.checks.privilege_model import (
    ACCOUNT_OBJECT,
    READABLE_KINDS,
    SNOWFLAKE_FUNCTION_ROLES,
    TASK_VISIBILITY,
    Need,
    Securable,
    SfObject,
    need,
)
from orchestration.deploy.checks.privilege_state import CheckerState
from orchestration.deploy.checks.privilege_syntax import (
    SYSTEM_FUNCTION_PREFIXES,
    merge_privileges,
    short_name,
)

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is expected


class ReadRules(CheckerState):
    def _query(self, sql: str, actor: Actor, rule: str = "select") -> None:
        try:
            tree = sqlglot.parse_one(sql, read="snowflake")
        except ParseError as error:
            self.skip(actor, f"does not parse as Snowflake SQL: {str(error).splitlines()[0]}")
            return
        if isinstance(tree, exp.Command) or not isinstance(
            tree, exp.Query | exp.Insert | exp.Update | exp.Delete | exp.Merge
        ):
            self.skip(actor, "statement shape not covered by the privilege rules")
            return
        written: dict[int, tuple[Securable, list[str], str]] = {}
        if isinstance(tree, exp.Insert):
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            written[id(target)] = (self._table(target), ["INSERT"], "insert")
        elif isinstance(tree, exp.Update):
            written[id(tree.this)] = (self._table(tree.this), ["UPDATE"], "update")
        elif isinstance(tree, exp.Delete):
            written[id(tree.this)] = (self._table(tree.this), ["DELETE"], "delete")
        elif isinstance(tree, exp.Merge):
            written[id(tree.this)] = (self._table(tree.this), merge_privileges(tree), "merge")
        for target, privileges, write_rule in written.values():
            self.require(actor, *self._schema_needs(target))
            for privilege in privileges:
                self.require(actor, need(privilege, target, write_rule))
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        for table in tree.find_all(exp.Table):
            if id(table) in written or isinstance(table.this, exp.Placeholder):
                continue
            if isinstance(table.this, exp.DirectoryStage):
                stage = str(
                    table.this.this.this
                    if isinstance(table.this.this, exp.Var)
                    else table.this.this
                )
                self.require(
                    actor, *self._stage_read(Securable("stage", self._qualify(stage.lstrip("@"))))
                )
                continue
            if not isinstance(table.this, exp.Identifier):
                continue
            if not table.db and table.name.lower() in ctes:
                continue
            self._read(self._name(table), actor, rule)
        for function in tree.find_all(exp.Anonymous):
            self._function(function, actor)

    def _name(self, table: exp.Table) -> str:
        parts = [p for p in (table.catalog, table.db, table.name) if p]
        return self._qualify(".".join(parts))

    def _table(self, table: exp.Expression) -> Securable:
        name = self._name(table) if isinstance(table, exp.Table) else str(table).lower()
        obj = self.account.find(name, ("table",))
        return obj.securable if obj else Securable("table", name)

    def _read(self, name: str, actor: Actor, rule: str = "select") -> None:
        """Reading a table, view or stream as actor.role (and a view's body as its owner)."""
        if name.startswith("snowflake.account_usage."):
            self.require(actor, need("SELECT", Securable("view", name), "account-usage"))
            return
        if name.split(".")[-2:-1] == ["information_schema"]:
            return
        obj = self.account.find(name, READABLE_KINDS)
        if obj is None:
            self.require(actor, need("SELECT", Securable("missing object", name), rule))
            return
        on = obj.securable
        self.require(actor, *self._schema_needs(on), need("SELECT", on, rule))
        if on.kind == "stream" and obj.source is not None:
            if obj.source.kind == "stage":
                self.require(actor, *self._stage_read(obj.source, "stream"))
            else:
                self.require(actor, need("SELECT", obj.source, "stream"))
        if on.kind == "view" and on not in actor.chain:
            self.view_body(obj, actor)

    def view_body(self, view: SfObject, reader: Actor) -> None:
        owner = Actor(
            reader.statement,
            f"{reader.description} > view {short_name(view.securable.name)} (owner)",
            view.owner,
            (*reader.chain, view.securable),
        )
        if view.reads is not None:
            for name in view.reads:
                self._read(name, owner, "view-owner")
        elif view.body:
            self._query(view.body, owner, "view-owner")

    def _function(self, function: exp.Expression, actor: Actor) -> None:
        name = function.name.lower() if isinstance(function, exp.Anonymous) else ""
        parent = function.parent
        if isinstance(parent, exp.Dot) and parent.expression is function:
            name = f"{parent.this.sql(dialect='snowflake').lower()}.{function.name.lower()}"
        if name == "system$task_dependents_enable":
            literal = function.expressions[0] if function.expressions else None
            if isinstance(literal, exp.Literal) and literal.is_string:
                task = Securable("task", self._qualify(literal.this))
                self.require(actor, need("OWNERSHIP", task, "task-dependents"))
                obj = self.account.objects.get(task)
                if obj is not None:
                    self.require(
                        actor, need("EXECUTE TASK", ACCOUNT_OBJECT, "task-run"), role=obj.owner
                    )
            else:
                self.skip(actor, "SYSTEM$TASK_DEPENDENTS_ENABLE of a computed name")
            return
        if name == "build_scoped_file_url":
            literal = function.expressions[0] if function.expressions else None
            if isinstance(literal, exp.Literal) and literal.is_string:
                stage = Securable("stage", self._qualify(literal.this.lstrip("@")))
                self.require(actor, *self._stage_read(stage))
            else:
                self.skip(actor, "BUILD_SCOPED_FILE_URL of a stage not named by a literal")
            return
        if name == "information_schema.task_history":
            self._task_history(actor)
            return
        if name in SNOWFLAKE_FUNCTION_ROLES:
            role = Securable("database role", SNOWFLAKE_FUNCTION_ROLES[name])
            self.require(actor, need("ROLE", role, "alert-functions"))
            return
        if "." not in name or name.startswith(SYSTEM_FUNCTION_PREFIXES):
            return  # built-in or system function
        if name.startswith("information_schema."):
            return
        target = Securable("function", self._qualify(name))
        self.require(actor, *self._schema_needs(target), need("USAGE", target, "function"))

    def _task_history(self, actor: Actor) -> None:
        """TASK_HISTORY() lists the tasks the role may see; every task of the plan, here."""
        if self.account.holds(actor.role, "MONITOR EXECUTION", ACCOUNT_OBJECT):
            return
        hidden = [
            obj.securable
            for obj in self.account.objects.values()
            if obj.securable.kind == "task"
            and not any(self.account.holds(actor.role, p, obj.securable) for p in TASK_VISIBILITY)
        ]
        if hidden:
            others = f" (and {len(hidden) - 1} more tasks)" if len(hidden) > 1 else ""
            alternatives = (
                *((p, hidden[0]) for p in TASK_VISIBILITY),
                ("MONITOR EXECUTION", ACCOUNT_OBJECT),
            )
            self.require(actor, Need(alternatives, "task-history", others))
