"""What CREATE needs and does: the privilege to create in the schema or account, OWNERSHIP to
replace or alter, and each kind's own needs (a view's query, a stage's integration, a task's
warehouse and predecessors, a procedure's imports, an alert's condition, network rules)."""

from __future__ import annotations

import re
from dataclasses import replace

from orchestration.deploy.checks.privilege_inputs import Actor
from orchestration.deploy.checks.privilege_model import (
    ACCOUNT_OBJECT,
    CORTEX_USER,
    Securable,
    SfObject,
    need,
    pypi_repository_need,
)
from orchestration.deploy.checks.privilege_reads import ReadRules
from orchestration.deploy.checks.privilege_syntax import (
    normal_kind,
    property_list,
    property_value,
    without_strings,
)
from orchestration.deploy.checks.sql_text import dollar_body, matching_paren, top_level_word


class CreateRules(ReadRules):
    def _create(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        kind = normal_kind(match.group("kind"))
        replaces = bool(match.group("mode"))
        account_kinds = {"database", "warehouse", "role", "database role", "network policy"}
        if kind in account_kinds or kind.endswith("integration"):
            on = Securable(
                "integration" if kind.endswith("integration") else kind, match.group("name").lower()
            )
            privilege = (
                "CREATE INTEGRATION" if kind.endswith("integration") else f"CREATE {kind.upper()}"
            )
            rule = "network-policy" if kind == "network policy" else "create"
            self.require(actor, need(privilege, ACCOUNT_OBJECT, rule))
            self._replace_needs(on, replaces, actor)
            if kind == "network policy":
                self._network_rule_list(sql, actor)
            self.account.create(on, actor.role, statement=actor.statement)
            return
        if kind == "schema":
            on = Securable("schema", self._qualify(match.group("name"), 2))
            self.require(
                actor,
                need("USAGE", Securable("database", on.database), "schema-object"),
                need("CREATE SCHEMA", Securable("database", on.database), "create"),
            )
            self._replace_needs(on, replaces, actor)
            self.account.create(on, actor.role, statement=actor.statement)
            return
        on = Securable(kind, self._qualify(match.group("name")))
        schema = Securable("schema", on.schema)
        create_rule = {
            "view": "create-view",
            "task": "task-create",
            "alert": "alert-create",
            "dbt project": "dbt-create",
            "network rule": "network-rule",
            "cortex search service": "search-service",
        }
        self.require(
            actor,
            *self._schema_needs(on),
            need(f"CREATE {kind.upper()}", schema, create_rule.get(kind, "create")),
        )
        if not self._replace_needs(on, replaces, actor):
            return
        or_replace = (match.group("mode") or "").split()[-1:] == ["replace"]
        copy_grants = re.search(r"\bcopy\s+grants\b", without_strings(sql), re.I) is not None
        self._creating = (or_replace, copy_grants)
        getattr(self, f"_create_{kind.replace(' ', '_')}")(sql, on, actor)

    def _replace_needs(self, on: Securable, replaces: bool, actor: Actor) -> bool:
        """Whether the statement may go on: replacing (or altering) an existing object needs
        OWNERSHIP of it; without it the statement fails and changes nothing."""
        if replaces and on in self.account.objects:
            rule = "network-rule" if on.kind == "network rule" else "replace"
            self.require(actor, need("OWNERSHIP", on, rule))
            return self.account.holds(actor.role, "OWNERSHIP", on)
        return True

    def _new(self, on: Securable, actor: Actor, **attributes: object) -> SfObject:
        replaced, keep_grants = self._creating
        owner = actor.role
        if on in self.account.objects and not replaced:
            owner = self.account.objects[on].owner
        return self.account.create(
            on, owner, replaced, keep_grants, statement=actor.statement, **attributes
        )

    def _create_table(self, sql: str, on: Securable, actor: Actor) -> None:
        as_query = re.search(r"\bas\s+(select|with)\b", sql, re.IGNORECASE)
        if as_query:
            self._query(sql[as_query.start(1) :], actor)
        self._new(on, actor)

    def _body_start(self, sql: str, actor: Actor, missing: str) -> int | None:
        """Where the top-level AS before a view's query or a task's body stands; without it the
        statement is reported unchecked (`missing`)."""
        start = top_level_word(sql, "as")
        if start is None:
            self.skip(actor, missing)
        return start

    def _create_view(self, sql: str, on: Securable, actor: Actor) -> None:
        start = self._body_start(sql, actor, "CREATE VIEW without AS <query>")
        if start is None:
            return
        body = sql[start + 2 :].strip()
        self._query(body, actor, rule="create-view")  # the creator reads what the view reads
        self._new(on, actor, body=body)

    def _create_stage(self, sql: str, on: Securable, actor: Actor) -> None:
        integration = property_value(sql, "storage_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        self._new(on, actor, external=property_value(sql, "url") is not None)

    def _create_stream(self, sql: str, on: Securable, actor: Actor) -> None:
        source = re.search(r"\bon\s+(?P<kind>stage|table|view)\s+(?P<name>[\w$.]+)", sql, re.I)
        if source is None:
            self.skip(actor, "CREATE STREAM on something other than a stage, table or view")
            return
        kind = source.group("kind").lower()
        target = Securable(kind, self._qualify(source.group("name")))
        if kind == "stage":
            self.require(actor, *self._stage_read(target))
        else:
            self.require(actor, need("SELECT", target, "stream"))
        self._new(on, actor, source=target)

    def _code_needs(self, sql: str, actor: Actor) -> bool:
        """A Python procedure's or UDF's IMPORTS (stage reads) and ARTIFACT_REPOSITORY (the
        PyPI database role); whether it names a repository."""
        for stage_path in re.findall(r"'@([\w$.]+)/[^']*'", property_list(sql, "imports")):
            self.require(actor, *self._stage_read(Securable("stage", self._qualify(stage_path))))
        repository = property_value(sql, "artifact_repository") is not None
        if repository:
            self.require(actor, pypi_repository_need())
        return repository

    def _create_procedure(self, sql: str, on: Securable, actor: Actor) -> None:
        repository = self._code_needs(sql, actor)
        execute_as = re.search(
            r"\bexecute\s+as\s+(owner|caller|restricted\s+caller)\b", without_strings(sql), re.I
        )
        language_sql = re.search(r"\blanguage\s+sql\b", sql, re.IGNORECASE) is not None
        self._new(
            on,
            actor,
            execute_as=(execute_as.group(1).lower().split()[-1] if execute_as else "owner"),
            artifact_repository=repository,
            body=(dollar_body(sql) or "") if language_sql else "",
        )

    def _create_function(self, sql: str, on: Securable, actor: Actor) -> None:
        integration = property_value(sql, "api_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        elif re.search(r"\blanguage\s+python\b", sql, re.I):
            self._code_needs(sql, actor)
        elif re.search(r"\blanguage\s+(java|scala|javascript)\b", sql, re.I):
            self.skip(actor, "functions in Java, Scala or JavaScript are not modelled")
        self._new(on, actor)

    def _create_network_rule(self, sql: str, on: Securable, actor: Actor) -> None:
        self._new(on, actor)

    def _network_rule_list(self, sql: str, actor: Actor) -> None:
        """The network rules a CREATE / ALTER NETWORK POLICY lists (rule "network-policy")."""
        for name in re.findall(r"'([^']*)'", property_list(sql, "allowed_network_rule_list")):
            rule = Securable("network rule", self._qualify(name))
            self.require(
                actor,
                *(replace(n, rule="network-policy") for n in self._schema_needs(rule)),
                need("OWNERSHIP", rule, "network-policy"),
            )

    def _create_dbt_project(self, sql: str, on: Securable, actor: Actor) -> None:
        source = re.search(r"\bfrom\s+'@(?P<stage>[\w$.]+)/", sql, re.IGNORECASE)
        if source is None:
            self.skip(actor, "CREATE DBT PROJECT from something other than a stage")
        else:
            stage = Securable("stage", self._qualify(source.group("stage")))
            self.require(actor, *self._stage_read(stage, "dbt-create"))
        self._new(on, actor)

    def _create_cortex_search_service(self, sql: str, on: Securable, actor: Actor) -> None:
        """Its query runs as the owner on its warehouse (SELECT on what it reads, USAGE on the
        warehouse), and a Cortex feature needs SNOWFLAKE.CORTEX_USER (rule "search-service")."""
        start = self._body_start(sql, actor, "CREATE CORTEX SEARCH SERVICE without AS <query>")
        if start is None:
            return
        header, body = sql[:start], sql[start + 2 :].strip()
        if body.startswith("(") and body.endswith(")"):
            body = body[1:-1].strip()
        warehouse = property_value(header, "warehouse")
        if warehouse:
            self.require(actor, need("USAGE", Securable("warehouse", warehouse), "search-service"))
        self.require(actor, need("ROLE", Securable("database role", CORTEX_USER), "search-service"))
        self._query(body, actor, rule="search-service")
        self._new(on, actor, body=body, warehouse=warehouse)

    def _create_task(self, sql: str, on: Securable, actor: Actor) -> None:
        start = self._body_start(sql, actor, "CREATE TASK without AS <statement>")
        if start is None:
            return
        header, body = sql[:start], sql[start + 2 :].strip()
        warehouse = property_value(header, "warehouse")
        if warehouse:
            self.require(actor, need("USAGE", Securable("warehouse", warehouse), "task-create"))
        else:
            self.require(actor, need("EXECUTE MANAGED TASK", ACCOUNT_OBJECT, "task-create"))
        integration = property_value(header, "error_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        owner = self.account.objects[on].owner if on in self.account.objects else actor.role
        predecessors = re.search(
            r"\bafter\s+(?P<names>[\w$.]+(?:\s*,\s*[\w$.]+)*)", without_strings(header), re.I
        )
        finalized = property_value(header, "finalize")
        names = predecessors.group("names").split(",") if predecessors else []
        for name in [*names, *([finalized] if finalized else [])]:
            linked = Securable("task", self._qualify(name.strip()))
            self.require(actor, need("OWNERSHIP", linked, "task-create"), role=owner)
        self._new(on, actor, body=body, warehouse=warehouse)

    def _create_alert(self, sql: str, on: Securable, actor: Actor) -> None:
        self.require(actor, need("EXECUTE ALERT", ACCOUNT_OBJECT, "alert-create"))
        condition = re.search(r"\bif\s*\(\s*exists\s*\(", sql, re.IGNORECASE)
        if condition is None:
            self.skip(actor, "CREATE ALERT without IF (EXISTS (...)) THEN")
            return
        outer = sql.index("(", condition.start())
        inner = sql.index("(", outer + 1)
        inner_end = matching_paren(sql, inner)
        outer_end = matching_paren(sql, outer)
        header = sql[: condition.start()]
        then = re.match(r"\s*then\b", sql[outer_end + 1 :], re.IGNORECASE)
        if then is None:
            self.skip(actor, "CREATE ALERT without THEN <action>")
            return
        warehouse = property_value(header, "warehouse")
        if warehouse:
            self.require(actor, need("USAGE", Securable("warehouse", warehouse), "alert-create"))
        else:
            self.require(actor, need("EXECUTE MANAGED ALERT", ACCOUNT_OBJECT, "alert-create"))
        self._new(
            on,
            actor,
            warehouse=warehouse,
            condition=sql[inner + 1 : inner_end].strip(),
            action=sql[outer_end + 1 + then.end() :].strip(),
        )
