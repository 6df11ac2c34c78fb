"""What the privilege checker reads besides the plan (the deploying role, dbt's nodes, the
procedures' statements and file reads) and who runs a statement (`Actor`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orchestration.deploy.checks.privilege_model import (
    DEPLOY_ROLE_PREREQUISITES,
    USER_OWNER,
    Securable,
)


@dataclass(frozen=True)
class DbtNode:
    """One node a `dbt build` runs: what it creates (a relation of `kind`) and reads."""

    unique_id: str
    resource_type: str  # model, seed, snapshot, test, unit_test
    relation: str | None  # database.schema.name it creates, lower case
    kind: str | None  # "table" or "view" for what it creates
    schema: str  # database.schema it writes in (unit tests: the tested model's)
    reads: tuple[str, ...]  # database.schema.name of its refs and sources
    temporary_table: bool = False  # incremental models and unit tests create a scratch table
    replaced: bool = True  # CREATE OR REPLACE on each build (views, tables), not incremental


@dataclass(frozen=True)
class DbtProject:
    """The dbt project as a `dbt parse` manifest describes it, and the profile it runs with."""

    role: str
    warehouse: str
    nodes: Mapping[str, DbtNode]
    # an invocation's ARGS (whitespace collapsed) -> the unique ids it builds, in order
    selections: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Inputs:
    deploy_role: str
    dbt: DbtProject | None = None
    # procedure name (schema.name or database.schema.name) -> the SQL its handler sends
    procedure_statements: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # procedure name -> stages its handler opens files on (owner's context), not SQL
    procedure_file_reads: Mapping[str, Sequence[str]] = field(default_factory=dict)
    deploy_privileges: tuple[str, ...] = DEPLOY_ROLE_PREREQUISITES
    user_owner: str = USER_OWNER


@dataclass(frozen=True)
class Actor:
    """Who runs a statement: a description, the role, and the statement it comes from."""

    statement: str
    description: str
    role: str
    chain: tuple[Securable, ...] = ()  # views already entered (cycle guard)

    def via(self, description: str, role: str) -> Actor:
        return Actor(self.statement, f"{self.description} > {description}", role, self.chain)
