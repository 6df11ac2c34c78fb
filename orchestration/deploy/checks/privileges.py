"""Offline privilege check of the rendered Snowflake deploy plan.

fakesnow has no roles, so nothing local ever says "insufficient privileges". This module
replays the plan (orchestration/deploy/plan.py) against a model of Snowflake's access control
and lists every statement that would fail, as

    statement (first line) | actor | role | missing privilege on object

The model, built from the plan itself:
- roles and their hierarchy (`grant role a to role b`: b holds what a holds), database roles
  (`grant database role snowflake.x to role r`);
- object privileges (`grant p on <object>`), `all <kind>s in schema s` (the objects that exist
  at that point of the plan) and `future <kind>s in schema s` (objects created later);
- ownership: an object is owned by the role active when it was created (`use role` switches;
  the session starts in `settings.deploy_role`), and CREATE OR REPLACE / OR ALTER of an existing
  object keeps needing OWNERSHIP;
- the deploying role's account privileges, which the plan cannot grant itself (docs/deploy.md,
  "Prerequisites").
- the system-defined roles (ACCOUNTADMIN holds SYSADMIN and SECURITYADMIN, SECURITYADMIN holds
  USERADMIN) with their account privileges; users the plan does not create are owned by
  USERADMIN (docs/deploy.md, "Prerequisites").

The actors, each checked as the role Snowflake runs it with:
- the plan's statements, as the active role;
- each task's body, as the task's owner (Scripting blocks are read statement by statement);
- each procedure's statements, as its owner (EXECUTE AS OWNER) or as each caller (EXECUTE AS
  CALLER); Python procedures' statements come from a statement log (procedure_statements.py);
- dbt: each node an `execute dbt project` builds, as the profile's role and as the caller;
- each alert's condition and action, as the alert's owner;
- each view's body, as the view's owner, whenever someone reads the view.

The plan is replayed twice (a first deploy, then a redeploy over what the first created), each
time followed by the runtime actors (tasks, alerts, owner's-rights procedures). Statement
shapes the rules do not cover are reported as unchecked, never passed silently.

The model, the rules and the checker are split by concern: privilege_rules.py (the rules and
their documentation), privilege_model.py (the account), privilege_inputs.py and
privilege_results.py (what goes in and comes out), privilege_syntax.py (statement shapes), and
the checker's rules by statement kind (privilege_state.py, privilege_reads.py,
privilege_create.py, privilege_commands.py, privilege_dbt.py); this module dispatches each
statement to them and runs the runtime actors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from orchestration.deploy.checks.privilege_commands import CommandRules
from orchestration.deploy.checks.privilege_dbt import DbtRules
from orchestration.deploy.checks.privilege_inputs import Actor, Inputs
from orchestration.deploy.checks.privilege_model import (
    ACCOUNT_OBJECT,
    Securable,
    SfObject,
    need,
    pypi_repository_need,
)
from orchestration.deploy.checks.privilege_results import PrivilegeReport, first_line
from orchestration.deploy.checks.privilege_syntax import (
    ALTER,
    ALTER_ACCOUNT,
    ALTER_USER,
    CALL,
    CREATE,
    DROP,
    EXECUTE_DBT,
    EXECUTE_TASK,
    GRANT,
    GRANT_DATABASE_ROLE,
    GRANT_ROLE,
    NO_PRIVILEGE_PROCEDURES,
    NOTIFICATION_INTEGRATION,
    PUT,
    SESSION,
    SHOW,
    SYSTEM_FUNCTION_PREFIXES,
    USE,
    short_name,
)
from orchestration.deploy.checks.scripting import block_statements
from orchestration.deploy.checks.sql_text import dollar_body, strip_comments


class Checker(CommandRules, DbtRules):
    """The plan's statements and the runtime actors, each checked by the rule of its kind."""

    def run_plan(self, statements: Sequence[str]) -> None:
        role = self.inputs.deploy_role
        for sql in statements:
            role = self.statement(sql, Actor(first_line(sql), "deploy plan", role))

    def statement(self, sql: str, actor: Actor) -> str:
        """Check one statement as actor.role and apply its effects; returns the active role
        after it (changed only by USE ROLE)."""
        sql = strip_comments(sql).strip().rstrip(";").strip()
        header = " ".join(sql.split()[:12])
        use = USE.match(" ".join(sql.split()))
        if use:
            return self._use(use.group("kind").lower(), use.group("name"), actor)
        if SESSION.match(header):
            return actor.role  # ALTER SESSION needs no privilege
        create = CREATE.match(header)
        if create:
            self._create(sql, create, actor)
            return actor.role
        flat = " ".join(sql.split())
        for pattern, handler in (
            (GRANT_ROLE, self._grant_role),
            (GRANT_DATABASE_ROLE, self._grant_database_role),
            (GRANT, self._grant),
            (PUT, self._put),
            (EXECUTE_DBT, self._execute_dbt),
            (EXECUTE_TASK, self._execute_task),
            (CALL, self._call),
            (ALTER_ACCOUNT, self._alter_account),
            (ALTER_USER, self._alter_user),
            (ALTER, self._alter),
            (DROP, self._drop),
            (SHOW, self._show),
        ):
            match = pattern.match(flat)
            if match:
                handler(sql, match, actor)
                return actor.role
        if re.match(r"^execute\s+immediate\b", flat, re.IGNORECASE):
            self._block(sql, actor)
            return actor.role
        self._query(sql, actor)
        return actor.role

    # --- USE and CALL (a caller's-rights procedure runs its body as the caller) ------------

    def _use(self, kind: str, name: str, actor: Actor) -> str:
        name = name.lower()
        if kind == "role":
            # the session's user is granted the deploying role
            self.require(
                actor,
                need("ROLE", Securable("role", name), "use-role"),
                role=self.inputs.deploy_role,
            )
            return name
        if kind == "database":
            self.require(actor, need("USAGE", Securable("database", name), "use-database"))
            self.database = name
        elif kind == "warehouse":
            self.require(actor, need("USAGE", Securable("warehouse", name), "warehouse"))
        else:
            self.require(
                actor, need("USAGE", Securable("schema", self._qualify(name, 2)), "use-database")
            )
        return actor.role

    def _call(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        name = match.group("name").lower()
        if name == "system$send_snowflake_notification":
            if re.search(r"integration(?:_config)?\s*\(\s*\?", sql, re.IGNORECASE):
                self.skip(actor, "notification integration named by a bind variable")
            for integration in NOTIFICATION_INTEGRATION.findall(sql):
                self.require(
                    actor,
                    need("USAGE", Securable("integration", integration.lower()), "notification"),
                )
            return
        if name in NO_PRIVILEGE_PROCEDURES:
            return
        if name.startswith(SYSTEM_FUNCTION_PREFIXES):
            self.skip(actor, f"system procedure {name} is not modelled")
            return
        procedure = Securable("procedure", self._qualify(name))
        self.require(actor, *self._schema_needs(procedure), need("USAGE", procedure, "call"))
        obj = self.account.objects.get(procedure)
        if obj is None:
            return
        if obj.artifact_repository:
            self.require(actor, pypi_repository_need())
        if obj.execute_as == "caller":
            self.procedure_body(
                obj, actor.via(f"procedure {procedure.name} (caller's rights)", actor.role)
            )

    # --- Scripting blocks ---------------------------------------------------------------

    def _block(self, sql: str, actor: Actor) -> None:
        body = dollar_body(sql)
        statements = block_statements(body if body is not None else sql)
        for dynamic in statements.dynamic:
            self.skip(
                replace(actor, statement=first_line(dynamic)),
                "EXECUTE IMMEDIATE of a string built at run time",
            )
        for statement in statements.sql:
            self.statement(statement, replace(actor, statement=first_line(statement)))

    # --- runtime actors -----------------------------------------------------------------

    def run_runtime(self) -> None:
        """What runs after the deploy: every task's body, then every alert, then every
        owner's-rights procedure (as its owner), in the order they were created."""
        objects = sorted(self.account.objects.values(), key=lambda o: o.created)
        for obj in [o for o in objects if o.securable.kind == "task"]:
            actor = Actor(
                obj.statement, f"task {short_name(obj.securable.name)} (owner)", obj.owner
            )
            self.require(actor, need("EXECUTE TASK", ACCOUNT_OBJECT, "task-run"))
            if obj.warehouse:
                self.require(
                    actor, need("USAGE", Securable("warehouse", obj.warehouse), "task-create")
                )
            body = obj.body
            if re.match(r"^execute\s+immediate\s*\$\$", body, re.IGNORECASE):
                self._block(body, actor)
            else:
                self.statement(body, replace(actor, statement=first_line(body)))
        for obj in [o for o in objects if o.securable.kind == "alert"]:
            name = short_name(obj.securable.name)
            condition = Actor(
                first_line(obj.condition), f"alert {name} condition (owner)", obj.owner
            )
            self.statement(obj.condition, condition)
            action = Actor(first_line(obj.action), f"alert {name} action (owner)", obj.owner)
            self.statement(obj.action, action)
        for obj in [o for o in objects if o.securable.kind == "procedure"]:
            if obj.execute_as == "owner":
                actor = Actor(
                    obj.statement,
                    f"procedure {short_name(obj.securable.name)} (owner's rights)",
                    obj.owner,
                )
                self.procedure_body(obj, actor)

    def procedure_body(self, procedure: SfObject, actor: Actor) -> None:
        name = procedure.securable.name
        for stage in self.inputs.procedure_file_reads.get(short_name(name), ()):
            self.require(actor, *self._stage_read(Securable("stage", self._qualify(stage))))
        if procedure.body:
            self._block(procedure.body, actor)
            return
        statements = self._procedures.get(short_name(name))
        if statements is None:
            self.skip(actor, f"no recorded statements for procedure {name}")
            return
        for sql in statements:
            self.statement(sql, replace(actor, statement=first_line(sql)))


def check_plan(statements: Sequence[str], inputs: Inputs, deploys: int = 2) -> PrivilegeReport:
    """Replay the plan `deploys` times (a first deploy, then redeploys over its objects), each
    followed by the runtime actors; every violation and unchecked statement, once."""
    checker = Checker(inputs)
    for _ in range(deploys):
        checker.run_plan(statements)
        checker.run_runtime()
    return checker.report()


def plan_sql(statements: Iterable[object]) -> list[str]:
    """The SQL of plan statements (PlanStatement or plain strings)."""
    return [getattr(s, "sql", s) for s in statements]  # type: ignore[misc]
