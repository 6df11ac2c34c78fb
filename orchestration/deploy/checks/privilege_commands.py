"""What GRANT, PUT, EXECUTE TASK, ALTER, DROP and SHOW need, and what grants change in the model."""

from __future__ import annotations

import re

from orchestration.deploy.checks.privilege_create import CreateRules
from orchestration.deploy.checks.privilege_inputs import Actor
from orchestration.deploy.checks.privilege_model import (
    ACCOUNT_OBJECT,
    SCHEMA_OBJECT_KINDS,
    TASK_VISIBILITY,
    Need,
    Securable,
    need,
)
from orchestration.deploy.checks.privilege_syntax import (
    ACCOUNT_PARAMETERS,
    BULK_GRANT,
    NOT_PARAMETERS,
    ON_OBJECT,
    USER_NETWORK_POLICY,
    normal_kind,
)


class CommandRules(CreateRules):
    # --- GRANT --------------------------------------------------------------------------

    def _grant_role(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        granted = Securable("role", match.group("role").lower())
        self.require(
            actor, need("OWNERSHIP", granted, "grant-role", ("MANAGE GRANTS", ACCOUNT_OBJECT))
        )
        self.account.granted_roles.setdefault(match.group("to").lower(), set()).add(granted.name)

    def _grant_database_role(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        self.require(actor, need("MANAGE GRANTS", ACCOUNT_OBJECT, "grant-database-role"))
        grantee = match.group("to").lower()
        self.account.granted_roles.setdefault(grantee, set()).add(match.group("role").lower())

    def _grant(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        privileges = [" ".join(p.split()).upper() for p in match.group("privileges").split(",")]
        on_text = " ".join(match.group("on").split())
        grantee = match.group("to").lower()
        if on_text.lower() == "account":
            self.require(actor, need("MANAGE GRANTS", ACCOUNT_OBJECT, "grant-account"))
            self.account.grants |= {(grantee, p, ACCOUNT_OBJECT) for p in privileges}
            return
        bulk = BULK_GRANT.match(on_text)
        if bulk:
            kind = normal_kind(bulk.group("kinds"))
            schema = self._qualify(bulk.group("schema"), 2)
            if bulk.group("scope").lower() == "future":
                self.require(actor, need("MANAGE GRANTS", ACCOUNT_OBJECT, "grant-future"))
                self.account.future |= {(grantee, p, kind, schema) for p in privileges}
                return
            existing = [
                on for on in self.account.objects if on.kind == kind and on.schema == schema
            ]
            for on in existing:
                self.require(
                    actor, need("OWNERSHIP", on, "grant-object", ("MANAGE GRANTS", ACCOUNT_OBJECT))
                )
                self.account.grants |= {(grantee, p, on) for p in privileges}
            return
        target = ON_OBJECT.match(on_text)
        if target is None:
            self.skip(actor, f"GRANT ON {on_text} is not modelled")
            return
        kind = normal_kind(target.group("kind"))
        parts = {"database": 1, "warehouse": 1, "integration": 1, "schema": 2}.get(kind, 3)
        on = Securable(kind, self._qualify(target.group("name"), parts))
        self.require(
            actor, need("OWNERSHIP", on, "grant-object", ("MANAGE GRANTS", ACCOUNT_OBJECT))
        )
        self.account.grants |= {(grantee, p, on) for p in privileges}

    # --- PUT, EXECUTE TASK, ALTER, SHOW ------------------------------------------------

    def _put(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        stage = Securable("stage", self._qualify(match.group("stage")))
        obj = self.account.objects.get(stage)
        if obj is not None and obj.external:
            self.skip(actor, "PUT to an external stage is not supported by Snowflake")
            return
        self.require(actor, *self._schema_needs(stage), need("WRITE", stage, "put"))

    def _execute_task(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        task = Securable("task", self._qualify(match.group("name")))
        self.require(
            actor,
            *self._schema_needs(task),
            need("EXECUTE TASK", ACCOUNT_OBJECT, "execute-task"),
            need("OWNERSHIP", task, "execute-task", ("OPERATE", task)),
        )

    def _alter(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        kind = normal_kind(match.group("kind"))
        parts = 3 if kind in SCHEMA_OBJECT_KINDS else 1
        on = Securable(
            "integration" if kind.endswith("integration") else kind,
            self._qualify(match.group("name"), parts),
        )
        action = match.group("action").strip().lower()
        if match.group("ife") and on not in self.account.objects:
            return  # IF EXISTS on a missing object does nothing
        if kind in {"task", "alert"} and action in {"resume", "suspend"}:
            self.require(
                actor, *self._schema_needs(on), need("OWNERSHIP", on, "task-run", ("OPERATE", on))
            )
            obj = self.account.objects.get(on)
            if kind == "task" and action == "resume" and obj is not None:
                self.require(
                    actor, need("EXECUTE TASK", ACCOUNT_OBJECT, "task-run"), role=obj.owner
                )
            return
        if kind == "stage" and action.startswith("refresh"):
            obj = self.account.objects.get(on)
            privilege = "USAGE" if obj is not None and obj.external else "WRITE"
            self.require(
                actor,
                *self._schema_needs(on),
                need("OWNERSHIP", on, "stage-refresh", (privilege, on)),
            )
            return
        if kind == "warehouse":
            self.require(actor, need("OWNERSHIP", on, "alter", ("MODIFY", on)))
            return
        if on.kind == "integration" and action.startswith("set"):
            self.require(actor, need("OWNERSHIP", on, "alter"))
            return
        if kind == "network policy" and action.startswith("set"):
            self.require(actor, need("OWNERSHIP", on, "network-policy"))
            self._network_rule_list(action, actor)
            return
        if kind in {
            "table",
            "view",
            "dbt project",
            "procedure",
            "function",
            "cortex search service",
        }:
            self.require(actor, *self._schema_needs(on), need("OWNERSHIP", on, "alter"))
            source = re.search(r"\bfrom\s+'@(?P<stage>[\w$.]+)/", action, re.IGNORECASE)
            if kind == "dbt project" and source:
                stage = Securable("stage", self._qualify(source.group("stage")))
                self.require(actor, *self._stage_read(stage, "dbt-create"))
            return
        self.skip(actor, f"ALTER {kind.upper()} ... {action.split()[0].upper()} is not modelled")

    def _drop(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        """DROP PROCEDURE / FUNCTION of one overload: OWNERSHIP of it. The model keys a
        procedure by its name, not its argument types, so the other overloads (the one the
        plan creates next) stay."""
        on = Securable(match.group("kind").lower(), self._qualify(match.group("name")))
        if match.group("ife") and on not in self.account.objects:
            return  # IF EXISTS on a missing object does nothing
        self.require(actor, *self._schema_needs(on), need("OWNERSHIP", on, "drop"))

    def _alter_account(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        rest = " ".join(match.group("rest").split())
        names = set(re.findall(r"([a-z_][a-z0-9_]*)\s*=", rest, re.IGNORECASE))
        is_parameters = match.group("verb").lower() == "set" and ACCOUNT_PARAMETERS.match(rest)
        if not is_parameters or {n.lower() for n in names} & NOT_PARAMETERS:
            self.skip(actor, "ALTER ACCOUNT other than SET <parameter> = <value> is not modelled")
            return
        administrator = Securable("role", "accountadmin")
        self.require(actor, need("ROLE", administrator, "account-parameters"))

    def _alter_user(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        action = " ".join(match.group("action").split())
        policy = USER_NETWORK_POLICY.match(action)
        if policy is None:
            self.skip(actor, f"ALTER USER ... {action.split()[0].upper()} is not modelled")
            return
        user = Securable("user", match.group("name").lower())
        if user not in self.account.objects:
            # an existing user the plan did not create: owned by the role that created it
            self.account.create(user, self.inputs.user_owner, statement="(existing user)")
        self.require(
            actor,
            need("OWNERSHIP", user, "user-network-policy"),
            need(
                "OWNERSHIP",
                Securable("network policy", policy.group("policy").lower()),
                "user-network-policy",
            ),
        )

    def _show(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        schema = Securable("schema", self._qualify(match.group("schema"), 2))
        self.require(
            actor,
            need("USAGE", Securable("database", schema.database), "schema-object"),
            need("USAGE", schema, "schema-object"),
        )
        like = match.group("like")
        if like and "%" not in like:  # one object (`_` matches its own character too)
            kind = normal_kind(match.group("kinds")[:-1])
            on = Securable(kind, f"{schema.name}.{like.lower()}")
            visible = TASK_VISIBILITY if kind in {"task", "alert"} else ("OWNERSHIP", "SELECT")
            self.require(actor, Need(tuple((p, on) for p in visible), "show"))
