"""What EXECUTE DBT PROJECT needs: each node the invocation builds, run as the profile's role and
as the caller, and what the nodes leave (views and tables replaced on every build)."""

from __future__ import annotations

import re

from orchestration.deploy.checks.privilege_inputs import Actor, DbtNode
from orchestration.deploy.checks.privilege_model import Securable, need
from orchestration.deploy.checks.privilege_reads import ReadRules
from orchestration.deploy.checks.privilege_syntax import DBT_ARGS
from orchestration.deploy.checks.sql_text import unquote


class DbtRules(ReadRules):
    def _execute_dbt(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        project = Securable("dbt project", self._qualify(match.group("name")))
        self.require(actor, *self._schema_needs(project), need("USAGE", project, "dbt-execute"))
        dbt = self.inputs.dbt
        literal = DBT_ARGS.search(match.group("rest"))
        args = " ".join(unquote(literal.group("args")).split()) if literal else ""
        if dbt is None:
            self.skip(actor, "no dbt manifest given: the dbt nodes are not checked")
            return
        if args not in dbt.selections:
            self.skip(actor, f"no dbt node list for the arguments {args!r}")
            return
        for role, who in ((dbt.role, "profile role"), (actor.role, "caller")):
            self.require(
                actor.via(f"dbt ({who})", role),
                need("USAGE", Securable("warehouse", dbt.warehouse), "dbt-execute"),
            )
        for uid in dbt.selections[args]:
            node = dbt.nodes[uid]
            self._dbt_node(node, actor, dbt.role, "profile role")
            if actor.role != dbt.role:
                self._dbt_node(node, actor, actor.role, "caller")
            self._dbt_effects(node, dbt.role)

    def _dbt_node(self, node: DbtNode, actor: Actor, role: str, who: str) -> None:
        runner = actor.via(
            f"dbt {node.resource_type} {node.unique_id.split('.')[-1]} ({who})", role
        )
        schema = Securable("schema", node.schema)
        schema_needs = [
            need("USAGE", Securable("database", schema.database), "dbt-execute"),
            need("USAGE", schema, "dbt-execute"),
        ]
        if node.relation and node.kind:
            on = Securable(node.kind, node.relation)
            self.require(
                runner, *schema_needs, need(f"CREATE {node.kind.upper()}", schema, "dbt-execute")
            )
            if on in self.account.objects:
                self.require(runner, need("OWNERSHIP", on, "replace"))
        if node.temporary_table:
            self.require(runner, *schema_needs, need("CREATE TABLE", schema, "dbt-execute"))
        for name in node.reads:
            self._read(name, runner, "dbt-execute")

    def _dbt_effects(self, node: DbtNode, role: str) -> None:
        """What a node leaves: views and tables are replaced on every build (dbt's default: no
        COPY GRANTS, so only future grants reach them); incremental models and seeds stay."""
        if node.relation and node.kind:
            reads = tuple(node.reads) if node.kind == "view" else None
            on = Securable(node.kind, node.relation)
            existing = self.account.objects.get(on)
            owner = existing.owner if existing is not None and not node.replaced else role
            self.account.create(
                on, owner, node.replaced, False, reads=reads, statement=f"dbt {node.unique_id}"
            )
