"""The privilege checker's model of a Snowflake account: securables, objects and their owners,
grants (direct, `all`, `future`), the role hierarchy, and what a statement needs (`Need`).

Also the account's starting state the plan cannot create itself: the deploying role's
prerequisites (docs/deploy.md), Snowflake's system-defined roles, and the SNOWFLAKE database
roles the plan's reads and alert functions need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

# What docs/deploy.md ("Prerequisites") asks of the deploying role before the plan runs: it
# may create databases, warehouses, roles and integrations and grant account privileges and
# the SNOWFLAKE database roles (ACCOUNTADMIN, or a role it granted those to).
DEPLOY_ROLE_PREREQUISITES: tuple[str, ...] = (
    "CREATE DATABASE",
    "CREATE WAREHOUSE",
    "CREATE ROLE",
    "CREATE INTEGRATION",
    "MANAGE GRANTS",
)

# Snowflake's system-defined roles as far as this plan needs them (rule "system-roles"): the
# roles each holds, and its account privileges. A plan deployed as ACCOUNTADMIN holds all.
SYSTEM_ROLE_HIERARCHY: dict[str, tuple[str, ...]] = {
    "accountadmin": ("sysadmin", "securityadmin"),
    "securityadmin": ("useradmin",),
}
SYSTEM_ROLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "accountadmin": ("CREATE INTEGRATION",),
    "securityadmin": ("MANAGE GRANTS", "CREATE NETWORK POLICY"),
    "useradmin": ("CREATE USER", "CREATE ROLE"),
    "sysadmin": ("CREATE DATABASE", "CREATE WAREHOUSE"),
}
# Who owns a user the plan does not create (rule "user-network-policy"): docs/deploy.md asks
# for the service users to be created with USERADMIN.
USER_OWNER = "useradmin"

# SNOWFLAKE database roles and the ACCOUNT_USAGE views they read ("SNOWFLAKE database roles":
# TASK_HISTORY view -> USAGE_VIEWER). Only what this plan reads.
SNOWFLAKE_DATABASE_ROLE_VIEWS: dict[str, tuple[str, ...]] = {
    "snowflake.usage_viewer": ("snowflake.account_usage.task_history",),
}

# SNOWFLAKE.* functions that need a SNOWFLAKE database role (rule "alert-functions").
SNOWFLAKE_FUNCTION_ROLES: dict[str, str] = {
    "snowflake.alert.scheduled_time": "snowflake.alert_viewer",
    "snowflake.alert.last_successful_scheduled_time": "snowflake.alert_viewer",
    "snowflake.alert.get_condition_query_uuid": "snowflake.alert_viewer",
}

# The SNOWFLAKE database role a procedure with ARTIFACT_REPOSITORY needs, in its creator and in
# every role that runs it (rule "artifact-repository").
PYPI_REPOSITORY_USER = "snowflake.pypi_repository_user"
# The database role Cortex AI features, Cortex Search among them, need (rule "search-service").
CORTEX_USER = "snowflake.cortex_user"

# --- the model --------------------------------------------------------------------------

ACCOUNT = "account"
SCHEMA_OBJECT_KINDS = frozenset(
    {
        "table",
        "view",
        "stage",
        "stream",
        "procedure",
        "function",
        "task",
        "alert",
        "dbt project",
        "network rule",
        "cortex search service",
    }
)
READABLE_KINDS = ("table", "view", "stream")
TASK_VISIBILITY = ("OWNERSHIP", "MONITOR", "OPERATE")


@dataclass(frozen=True, order=True)
class Securable:
    """An object privileges are granted on: kind and lower-case, fully qualified name."""

    kind: str
    name: str

    def __str__(self) -> str:
        return self.kind if self.kind == ACCOUNT else f"{self.kind} {self.name}"

    @property
    def schema(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def database(self) -> str:
        return self.name.split(".", 1)[0]


ACCOUNT_OBJECT = Securable(ACCOUNT, "")


@dataclass
class SfObject:
    securable: Securable
    owner: str
    created: int
    external: bool = False  # stage with a URL
    execute_as: str = "owner"  # procedure
    artifact_repository: bool = False  # procedure
    body: str = ""  # view query, task body, SQL procedure body
    reads: tuple[str, ...] | None = None  # dbt views: the relations the body reads
    warehouse: str | None = None  # task, alert
    source: Securable | None = None  # stream
    condition: str = ""  # alert
    action: str = ""  # alert
    statement: str = ""  # first line of the statement that created it


@dataclass
class Account:
    """Roles, objects, grants: the state the plan builds."""

    objects: dict[Securable, SfObject] = field(default_factory=dict)
    grants: set[tuple[str, str, Securable]] = field(default_factory=set)
    future: set[tuple[str, str, str, str]] = field(default_factory=set)  # role, priv, kind, schema
    granted_roles: dict[str, set[str]] = field(default_factory=dict)  # grantee -> roles held
    clock: int = 0

    def closure(self, role: str) -> set[str]:
        """The role and every role (or database role) granted to it, transitively."""
        seen = {role}
        todo = [role]
        while todo:
            for held in self.granted_roles.get(todo.pop(), set()):
                if held not in seen:
                    seen.add(held)
                    todo.append(held)
        return seen

    def holds(self, role: str, privilege: str, on: Securable) -> bool:
        roles = self.closure(role)
        if privilege == "ROLE":
            return on.name in roles
        obj = self.objects.get(on)
        if obj is not None and obj.owner in roles:
            return True  # OWNERSHIP carries every privilege on the object
        if privilege == "OWNERSHIP":
            return False
        return any((r, privilege, on) in self.grants for r in roles)

    def find(self, name: str, kinds: Iterable[str]) -> SfObject | None:
        for kind in kinds:
            obj = self.objects.get(Securable(kind, name))
            if obj is not None:
                return obj
        return None

    def create(
        self,
        securable: Securable,
        owner: str,
        replaced: bool = False,
        keep_grants: bool = True,
        **attributes: object,
    ) -> SfObject:
        """Create an object owned by `owner` and apply the future grants of its schema. An
        existing object keeps its owner and grants (CREATE OR ALTER, IF NOT EXISTS) unless
        `replaced` (CREATE OR REPLACE: a new object, owned by the creating role, that keeps the
        old one's grants only with COPY GRANTS)."""
        existing = self.objects.get(securable)
        self.clock += 1
        if existing is not None and not replaced:
            obj = replace(existing, **attributes)  # type: ignore[arg-type]
            self.objects[securable] = obj
            return obj
        if existing is not None and not keep_grants:
            self.grants = {g for g in self.grants if g[2] != securable}
        obj = SfObject(securable, owner, self.clock, **attributes)  # type: ignore[arg-type]
        self.objects[securable] = obj
        if securable.kind in SCHEMA_OBJECT_KINDS:
            for role, privilege, kind, schema in self.future:
                if kind == securable.kind and schema == securable.schema:
                    self.grants.add((role, privilege, securable))
        return obj


@dataclass(frozen=True)
class Need:
    """Privileges of which any one suffices, and the rule that asks for them."""

    alternatives: tuple[tuple[str, Securable], ...]
    rule: str
    note: str = ""

    def describe(self) -> str:
        text = " or ".join(f"{privilege} on {on}" for privilege, on in self.alternatives)
        return text + self.note


def need(privilege: str, on: Securable, rule: str, *more: tuple[str, Securable]) -> Need:
    return Need(((privilege, on), *more), rule)


def pypi_repository_need() -> Need:
    """The database role a procedure with ARTIFACT_REPOSITORY needs (rule "artifact-repository")."""
    return need("ROLE", Securable("database role", PYPI_REPOSITORY_USER), "artifact-repository")
