"""The privilege checker's state and its primitives: the account being built, the active
database, the violations and unchecked statements found, and the requirements every rule
uses (`require`, `skip`, qualified names, USAGE on a schema, reading a stage)."""

from __future__ import annotations

from orchestration.deploy.checks.privilege_inputs import Actor, Inputs
from orchestration.deploy.checks.privilege_model import (
    ACCOUNT_OBJECT,
    SNOWFLAKE_DATABASE_ROLE_VIEWS,
    SYSTEM_ROLE_HIERARCHY,
    SYSTEM_ROLE_PRIVILEGES,
    Account,
    Need,
    Securable,
    need,
)
from orchestration.deploy.checks.privilege_results import PrivilegeReport, Unchecked, Violation
from orchestration.deploy.checks.privilege_syntax import short_name


class CheckerState:
    """The account the plan builds and what was found so far; the primitives of every rule."""

    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.account = Account()
        self.database = ""
        self._creating = (False, True)  # CREATE OR REPLACE?, COPY GRANTS? of the statement
        self.violations: dict[tuple[str, str, str], Violation] = {}
        self.unchecked: dict[tuple[str, str, str], Unchecked] = {}
        self.account.grants |= {
            (inputs.deploy_role, privilege, ACCOUNT_OBJECT)
            for privilege in inputs.deploy_privileges
        }
        for role, views in SNOWFLAKE_DATABASE_ROLE_VIEWS.items():
            for view in views:
                self.account.grants.add((role, "SELECT", Securable("view", view)))
        for role, held in SYSTEM_ROLE_HIERARCHY.items():
            self.account.granted_roles.setdefault(role, set()).update(held)
        for role, privileges in SYSTEM_ROLE_PRIVILEGES.items():
            self.account.grants |= {(role, p, ACCOUNT_OBJECT) for p in privileges}
        self._procedures = {
            short_name(name.lower()): tuple(statements)
            for name, statements in inputs.procedure_statements.items()
        }

    # --- reporting ----------------------------------------------------------------------

    def require(self, actor: Actor, *needs: Need, role: str | None = None) -> None:
        role = role or actor.role
        for item in needs:
            if any(self.account.holds(role, p, on) for p, on in item.alternatives):
                continue
            violation = Violation(
                actor.statement, actor.description, role, item.describe(), item.rule
            )
            # one line per statement, role and missing privilege: the first actor path found
            self.violations.setdefault((violation.statement, role, violation.missing), violation)

    def skip(self, actor: Actor, reason: str) -> None:
        item = Unchecked(actor.statement, actor.description, reason)
        self.unchecked.setdefault((item.statement, item.actor, item.reason), item)

    # --- names --------------------------------------------------------------------------

    def _qualify(self, name: str, parts: int = 3) -> str:
        name = name.lower().strip('"')
        if parts == 1:
            return name
        pieces = name.split(".")
        if len(pieces) == parts - 1 and self.database:
            return f"{self.database}.{name}"
        return name

    def _schema_needs(self, on: Securable) -> list[Need]:
        if on.database == "snowflake":
            return []  # the shared SNOWFLAKE database: its database roles grant access
        return [
            need("USAGE", Securable("database", on.database), "schema-object"),
            need("USAGE", Securable("schema", on.schema), "schema-object"),
        ]

    def _stage_read(self, stage: Securable, rule: str = "stage-read") -> list[Need]:
        obj = self.account.objects.get(stage)
        privilege = "USAGE" if obj is not None and obj.external else "READ"
        return [*self._schema_needs(stage), need(privilege, stage, rule)]

    def report(self) -> PrivilegeReport:
        return PrivilegeReport(tuple(self.violations.values()), tuple(self.unchecked.values()))
