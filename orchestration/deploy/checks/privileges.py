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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from orchestration.deploy.checks.scripting import (
    block_statements,
    dollar_body,
    matching_paren,
    strip_comments,
    top_level_words,
    unquote,
)

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" is expected

# --- documentation: where each rule comes from ---------------------------------------------

PRIVILEGES_PAGE = (
    "https://docs.snowflake.com/en/user-guide/security-access-control-privileges "
    "(Access control privileges)"
)


def _command_page(slug: str, title: str) -> str:
    return (
        f"https://docs.snowflake.com/en/sql-reference/sql/{slug} "
        f"({title}, Access control requirements)"
    )


@dataclass(frozen=True)
class Rule:
    """One documented requirement: what it says and the page it comes from."""

    key: str
    says: str
    source: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.key: rule for rule in rules}


RULES: dict[str, Rule] = _rules(
    Rule(
        "schema-object",
        "operating on a schema object needs USAGE on its database and its schema",
        PRIVILEGES_PAGE,
    ),
    Rule("select", "SELECT on each table, view or stream a query reads", PRIVILEGES_PAGE),
    Rule("insert", "INSERT on the table an INSERT writes", _command_page("insert", "INSERT")),
    Rule("update", "UPDATE on the table an UPDATE writes", _command_page("update", "UPDATE")),
    Rule("delete", "DELETE on the table a DELETE writes", _command_page("delete", "DELETE")),
    Rule(
        "merge",
        "MERGE needs INSERT / UPDATE / DELETE on its target as its WHEN clauses do, and "
        "SELECT on its source",
        _command_page("merge", "MERGE"),
    ),
    Rule(
        "view-owner",
        "a view runs with its owner's privileges: a reader needs SELECT on the view only, "
        "the view's owner needs SELECT on what the view reads",
        "https://docs.snowflake.com/en/user-guide/views-introduction (Overview of views); "
        "/work/shared/reference/production-audit.md finding 3",
    ),
    Rule(
        "create-view",
        "CREATE VIEW on the schema, and SELECT on the objects the view's query reads",
        _command_page("create-view", "CREATE VIEW"),
    ),
    Rule(
        "create",
        "CREATE <kind> on the schema (or the account, for account objects) creates it; the "
        "creating role owns it",
        PRIVILEGES_PAGE,
    ),
    Rule(
        "replace",
        "CREATE OR REPLACE / CREATE OR ALTER of an existing object needs OWNERSHIP on it",
        "https://docs.snowflake.com/en/sql-reference/sql/create-or-alter "
        "(CREATE OR ALTER <object>); " + PRIVILEGES_PAGE,
    ),
    Rule(
        "alter",
        "ALTER of an object needs OWNERSHIP (warehouse: MODIFY; task, alert: OPERATE)",
        PRIVILEGES_PAGE,
    ),
    Rule(
        "grant-object",
        "granting privileges on an object needs OWNERSHIP of it or MANAGE GRANTS",
        _command_page("grant-privilege", "GRANT <privileges> ... TO ROLE"),
    ),
    Rule(
        "grant-future",
        "grants on future objects in a schema need MANAGE GRANTS (in a managed access "
        "schema, also the schema owner)",
        _command_page("grant-privilege", "GRANT <privileges> ... TO ROLE"),
    ),
    Rule(
        "grant-account",
        "granting global (account) privileges needs MANAGE GRANTS",
        _command_page("grant-privilege", "GRANT <privileges> ... TO ROLE"),
    ),
    Rule(
        "grant-role",
        "granting a role needs OWNERSHIP of the role or MANAGE GRANTS",
        _command_page("grant-role", "GRANT ROLE"),
    ),
    Rule(
        "grant-database-role",
        "SNOWFLAKE database roles are granted by a role with MANAGE GRANTS (ACCOUNTADMIN by "
        "default)",
        "https://docs.snowflake.com/en/sql-reference/snowflake-db-roles (SNOWFLAKE database "
        "roles); " + _command_page("grant-database-role", "GRANT DATABASE ROLE"),
    ),
    Rule(
        "use-role",
        "USE ROLE needs the role to be granted to the user (directly or through the hierarchy)",
        _command_page("use-role", "USE ROLE"),
    ),
    Rule(
        "use-database",
        "USE DATABASE needs USAGE on it",
        _command_page("use-database", "USE DATABASE"),
    ),
    Rule(
        "put",
        "PUT to a named internal stage needs WRITE on the stage",
        PRIVILEGES_PAGE + " (Stage privileges: WRITE); " + _command_page("put", "PUT"),
    ),
    Rule(
        "stage-read",
        "reading a stage (DIRECTORY(@stage), a stream on its directory table, IMPORTS, files "
        "an owner's-rights procedure opens) needs USAGE on an external stage, READ on an "
        "internal one",
        PRIVILEGES_PAGE
        + " (Stage privileges); "
        + _command_page("create-stream", "CREATE STREAM")
        + "; https://docs.snowflake.com/en/developer-guide/stored-procedure/python/"
        "procedure-python-read-files (Reading files with a procedure handler)",
    ),
    Rule(
        "stage-refresh",
        "ALTER STAGE ... REFRESH needs OWNERSHIP, or WRITE (internal) / USAGE (external stage)",
        "https://docs.snowflake.com/en/release-notes/bcr-bundles/2023_06/bcr-1222 "
        "(WRITE/USAGE stage privileges: Directory table refreshes allowed)",
    ),
    Rule(
        "stream",
        "querying a stream needs SELECT on the stream and access to its source (for a stage's "
        "directory table: USAGE on an external stage, READ on an internal one)",
        _command_page("create-stream", "CREATE STREAM")
        + "; https://docs.snowflake.com/en/user-guide/streams-intro (Introduction to Streams)",
    ),
    Rule(
        "integration",
        "an object that names an integration (STORAGE_INTEGRATION, API_INTEGRATION, "
        "ERROR_INTEGRATION) needs USAGE on it",
        _command_page("create-stage", "CREATE STAGE")
        + "; "
        + _command_page("create-external-function", "CREATE EXTERNAL FUNCTION")
        + "; "
        + _command_page("create-task", "CREATE TASK"),
    ),
    Rule(
        "notification",
        "SYSTEM$SEND_SNOWFLAKE_NOTIFICATION needs USAGE on each notification integration",
        "https://docs.snowflake.com/en/sql-reference/stored-procedures/"
        "system_send_snowflake_notification (SYSTEM$SEND_SNOWFLAKE_NOTIFICATION)",
    ),
    Rule(
        "call",
        "CALL needs USAGE on the procedure; an owner's-rights procedure then runs as its "
        "owner, a caller's-rights one as the caller",
        _command_page("call", "CALL")
        + "; https://docs.snowflake.com/en/developer-guide/stored-procedure/"
        "stored-procedures-rights (Understanding caller's rights and owner's rights stored "
        "procedures)",
    ),
    Rule(
        "function",
        "calling a user-defined or external function needs USAGE on it",
        PRIVILEGES_PAGE + " (Function privileges: USAGE)",
    ),
    Rule(
        "artifact-repository",
        "the role that creates a procedure with ARTIFACT_REPOSITORY and every role that runs it "
        "need the database role SNOWFLAKE.PYPI_REPOSITORY_USER",
        "https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-packages "
        "(Using third-party packages, Artifact Repository)",
    ),
    Rule(
        "task-create",
        "CREATE TASK on the schema; USAGE on the warehouse a task names, or EXECUTE MANAGED "
        "TASK on the account for a serverless task; all tasks of a graph have the same owner",
        _command_page("create-task", "CREATE TASK"),
    ),
    Rule(
        "task-run",
        "a task runs as its owner role, which needs EXECUTE TASK on the account; resuming "
        "or suspending a task needs OWNERSHIP or OPERATE on it",
        "https://docs.snowflake.com/en/user-guide/tasks-intro (Introduction to tasks); "
        + _command_page("alter-task", "ALTER TASK"),
    ),
    Rule(
        "show",
        "SHOW <objects> lists only the objects the role holds a privilege on (a task: "
        "OWNERSHIP, MONITOR or OPERATE); a missing one is an empty result, not an error",
        "https://docs.snowflake.com/en/sql-reference/sql/show-tasks (SHOW TASKS, Usage notes)",
    ),
    Rule(
        "system-procedure",
        "SYSTEM$SET_RETURN_VALUE needs no privilege: a task sets its own return value",
        "https://docs.snowflake.com/en/sql-reference/functions/system_set_return_value "
        "(SYSTEM$SET_RETURN_VALUE)",
    ),
    Rule(
        "task-dependents",
        "SYSTEM$TASK_DEPENDENTS_ENABLE is run by the owner of the task graph (OWNERSHIP)",
        "https://docs.snowflake.com/en/sql-reference/functions/system_task_dependents_enable "
        "(SYSTEM$TASK_DEPENDENTS_ENABLE)",
    ),
    Rule(
        "execute-task",
        "EXECUTE TASK needs EXECUTE TASK on the account and OWNERSHIP or OPERATE on the task",
        _command_page("execute-task", "EXECUTE TASK"),
    ),
    Rule(
        "task-history",
        "INFORMATION_SCHEMA.TASK_HISTORY() returns only the tasks the role owns or has "
        "MONITOR / OPERATE on, or all with MONITOR EXECUTION (a role without them reads no "
        "rows, without an error)",
        "https://docs.snowflake.com/en/sql-reference/functions/task_history (TASK_HISTORY)",
    ),
    Rule(
        "account-usage",
        "SNOWFLAKE.ACCOUNT_USAGE views are read through the SNOWFLAKE database roles "
        "(TASK_HISTORY: USAGE_VIEWER)",
        "https://docs.snowflake.com/en/sql-reference/snowflake-db-roles (SNOWFLAKE database roles)",
    ),
    Rule(
        "alert-functions",
        "SNOWFLAKE.ALERT.SCHEDULED_TIME, LAST_SUCCESSFUL_SCHEDULED_TIME and "
        "GET_CONDITION_QUERY_UUID need the SNOWFLAKE database role ALERT_VIEWER in the role "
        "that calls them (an alert's owner)",
        "https://docs.snowflake.com/en/sql-reference/functions/scheduled_time (SCHEDULED_TIME, "
        "Usage notes); https://docs.snowflake.com/en/sql-reference/functions/"
        "last_successful_scheduled_time (LAST_SUCCESSFUL_SCHEDULED_TIME); "
        "https://docs.snowflake.com/en/sql-reference/functions/get_condition_query_uuid "
        "(GET_CONDITION_QUERY_UUID)",
    ),
    Rule(
        "alert-create",
        "CREATE ALERT on the schema and EXECUTE ALERT on the account; EXECUTE MANAGED ALERT "
        "for a serverless alert (no WAREHOUSE), else USAGE on its warehouse; the condition and "
        "action run as the alert's owner",
        _command_page("create-alert", "CREATE ALERT"),
    ),
    Rule(
        "dbt-create",
        "CREATE DBT PROJECT on the schema, and READ on the internal stage its files come from",
        _command_page("create-dbt-project", "CREATE DBT PROJECT")
        + "; https://docs.snowflake.com/en/user-guide/data-engineering/"
        "dbt-projects-on-snowflake-access-control (Access control for dbt projects on "
        "Snowflake)",
    ),
    Rule(
        "dbt-execute",
        "EXECUTE DBT PROJECT needs USAGE on the project; the dbt command runs with the "
        "privileges of the profile's role, further limited to the caller's: both need the "
        "warehouse and every object the nodes create or read",
        "https://docs.snowflake.com/en/user-guide/data-engineering/"
        "dbt-projects-on-snowflake-access-control (Access control for dbt projects on "
        "Snowflake, Roles and privileges for dbt project execution); "
        + _command_page("execute-dbt-project", "EXECUTE DBT PROJECT"),
    ),
    Rule(
        "warehouse",
        "running queries needs USAGE on the warehouse",
        PRIVILEGES_PAGE + " (Virtual warehouse privileges)",
    ),
    Rule(
        "account-parameters",
        "ALTER ACCOUNT SET <parameter> is run by an account administrator (the ACCOUNTADMIN "
        "role); PREVENT_UNLOAD_TO_INLINE_URL in particular only ACCOUNTADMIN may set",
        _command_page("alter-account", "ALTER ACCOUNT")
        + "; https://docs.snowflake.com/en/sql-reference/parameters (Parameters); "
        "https://docs.snowflake.com/en/release-notes/bcr-bundles/2025_01/bcr-1841 (Changes to "
        "the PREVENT_UNLOAD_TO_INLINE_URL and PREVENT_UNLOAD_TO_INTERNAL_STAGES parameters)",
    ),
    Rule(
        "network-rule",
        "CREATE NETWORK RULE on the schema (and USAGE on its database and schema); the "
        "creating role owns the rule, and altering it (CREATE OR ALTER) needs OWNERSHIP",
        _command_page("create-network-rule", "CREATE NETWORK RULE"),
    ),
    Rule(
        "network-policy",
        "CREATE NETWORK POLICY on the account (SECURITYADMIN or higher holds it); ALTER "
        "NETWORK POLICY needs OWNERSHIP of the policy; the rules a policy lists need USAGE on "
        "their database and schema, and the model asks OWNERSHIP of them too (the pages name "
        "no privilege on a listed rule; the deploying role creates both)",
        _command_page("create-network-policy", "CREATE NETWORK POLICY")
        + "; "
        + _command_page("alter-network-policy", "ALTER NETWORK POLICY"),
    ),
    Rule(
        "user-network-policy",
        "ALTER USER ... SET NETWORK_POLICY needs OWNERSHIP of both the user and the network "
        "policy, or a higher role; users the plan does not create are owned by USERADMIN, "
        "which creates them (docs/deploy.md, Prerequisites)",
        "https://docs.snowflake.com/en/user-guide/network-policies (Controlling network "
        "traffic with network policies, Activating a network policy for individual users); "
        "https://docs.snowflake.com/en/release-notes/bcr-bundles/un-bundled/"
        "bcr-non-existing-network-policy (NETWORK_POLICY parameter must specify a valid "
        "network policy)",
    ),
    Rule(
        "system-roles",
        "the system-defined roles: ACCOUNTADMIN holds SYSADMIN and SECURITYADMIN, "
        "SECURITYADMIN holds USERADMIN and MANAGE GRANTS, USERADMIN creates users and roles, "
        "SYSADMIN creates warehouses and databases; ACCOUNTADMIN may create integrations, "
        "SECURITYADMIN or higher network policies",
        "https://docs.snowflake.com/en/user-guide/security-access-control-overview (Overview "
        "of Access Control, System-defined roles); "
        + _command_page("create-storage-integration", "CREATE STORAGE INTEGRATION")
        + "; "
        + _command_page("create-network-policy", "CREATE NETWORK POLICY"),
    ),
    Rule(
        "deploy-prerequisites",
        "the deploying role holds CREATE DATABASE, CREATE WAREHOUSE, CREATE ROLE, CREATE "
        "INTEGRATION and MANAGE GRANTS on the account before the plan runs",
        "docs/deploy.md (Prerequisites)",
    ),
)

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


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    statement: str
    actor: str
    role: str
    missing: str
    rule: str

    def __str__(self) -> str:
        return f"{self.statement} | {self.actor} | {self.role} | {self.missing}"

    @property
    def source(self) -> str:
        return RULES[self.rule].source


@dataclass(frozen=True)
class Unchecked:
    statement: str
    actor: str
    reason: str

    def __str__(self) -> str:
        return f"{self.statement} | {self.actor} | unchecked: {self.reason}"


@dataclass(frozen=True)
class PrivilegeReport:
    violations: tuple[Violation, ...]
    unchecked: tuple[Unchecked, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def lines(self) -> list[str]:
        return [str(v) for v in self.violations] + [str(u) for u in self.unchecked]


def first_line(sql: str) -> str:
    """The statement's first line, or its start (100 characters) when that line says little
    (a bare `select`)."""
    text = strip_comments(sql).strip()
    line = text.splitlines()[0].strip() if text else ""
    if len(line) >= 30:
        return line
    flat = " ".join(text.split())
    return flat if len(flat) <= 100 else flat[:99] + "…"


# --- inputs besides the plan ------------------------------------------------------------


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


# --- the checker ------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who runs a statement: a description, the role, and the statement it comes from."""

    statement: str
    description: str
    role: str
    chain: tuple[Securable, ...] = ()  # views already entered (cycle guard)

    def via(self, description: str, role: str) -> Actor:
        return Actor(self.statement, f"{self.description} > {description}", role, self.chain)


_CREATE = re.compile(
    r"^create\s+(?P<mode>or\s+replace\s+|or\s+alter\s+)?(?:(?:secure|transient|temporary|temp)\s+)*"
    r"(?P<kind>database\s+role|database|schema|table|view|stage|stream|procedure|external\s+function"
    r"|function|task|alert|dbt\s+project|warehouse|storage\s+integration|api\s+integration"
    r"|notification\s+integration|network\s+rule|network\s+policy|role)\s+"
    r"(?P<ine>if\s+not\s+exists\s+)?(?P<name>[\w$.]+)",
    re.IGNORECASE,
)
_GRANT_ROLE = re.compile(r"^grant\s+role\s+(?P<role>[\w$]+)\s+to\s+role\s+(?P<to>[\w$]+)$", re.I)
_GRANT_DATABASE_ROLE = re.compile(
    r"^grant\s+database\s+role\s+(?P<role>[\w$.]+)\s+to\s+role\s+(?P<to>[\w$]+)$", re.I
)
_GRANT = re.compile(
    r"^grant\s+(?P<privileges>.+?)\s+on\s+(?P<on>.+?)\s+to\s+role\s+(?P<to>[\w$]+)"
    r"(?P<option>\s+with\s+grant\s+option)?$",
    re.IGNORECASE | re.DOTALL,
)
_BULK = re.compile(
    r"^(?P<scope>all|future)\s+(?P<kinds>[a-z ]+?)s\s+in\s+schema\s+(?P<schema>[\w$.]+)$", re.I
)
_ON_OBJECT = re.compile(
    r"^(?P<kind>database|schema|table|view|stage|stream|procedure|function|task|alert"
    r"|dbt\s+project|warehouse|integration|external\s+table)\s+(?P<name>[\w$.]+)\s*(?:\(.*\))?$",
    re.IGNORECASE | re.DOTALL,
)
_USE = re.compile(r"^use\s+(?P<kind>role|database|schema|warehouse)\s+(?P<name>[\w$.]+)$", re.I)
_PUT = re.compile(r"^put\s+'(?P<file>[^']*)'\s+'?@(?P<stage>[\w$.]+)(?P<path>[^'\s]*)'?", re.I)
_EXECUTE_DBT = re.compile(r"^execute\s+dbt\s+project\s+(?P<name>[\w$.]+)(?P<rest>.*)$", re.I | re.S)
_DBT_ARGS = re.compile(r"\bargs\s*=\s*(?P<args>'(?:[^']|'')*')", re.IGNORECASE)
_EXECUTE_TASK = re.compile(
    r"^execute\s+task\s+(?P<name>[\w$.]+)(?:\s+using\s+config\s*=.*)?$", re.I | re.S
)
_CALL = re.compile(r"^call\s+(?P<name>[\w$.]+)\s*\(", re.IGNORECASE)
_ALTER = re.compile(
    r"^alter\s+(?P<kind>task|alert|warehouse|stage|storage\s+integration|api\s+integration"
    r"|notification\s+integration|table|view|dbt\s+project|procedure|function|schema|database"
    r"|network\s+policy)"
    r"\s+(?P<ife>if\s+exists\s+)?(?P<name>[\w$.]+)\s+(?P<action>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ALTER_ACCOUNT = re.compile(r"^alter\s+account\s+(?P<verb>set|unset)\s+(?P<rest>.*)$", re.I | re.S)
_ALTER_USER = re.compile(
    r"^alter\s+user\s+(?P<ife>if\s+exists\s+)?(?P<name>[\w$]+)\s+(?P<action>.*)$", re.I | re.S
)
_USER_NETWORK_POLICY = re.compile(r"^set\s+network_policy\s*=\s*(?P<policy>[\w$]+)$", re.I)
# ALTER ACCOUNT SET <parameter> = <value> [...]: parameters only (rule "account-parameters");
# policies, the resource monitor, tags and the account NETWORK_POLICY are other forms.
_ACCOUNT_PARAMETERS = re.compile(
    r"^(?:[a-z_][a-z0-9_]*\s*=\s*(?:'(?:[^']|'')*'|[\w.-]+)\s*,?\s*)+$", re.I
)
_NOT_PARAMETERS = frozenset({"network_policy", "resource_monitor"})
_SESSION = re.compile(r"^alter\s+session\s+(?:set|unset)\b", re.IGNORECASE)
_SHOW = re.compile(
    r"^show\s+(?:terse\s+)?(?P<kinds>tasks|alerts|stages|tables|views|procedures)"
    r"(?:\s+like\s+'(?P<like>[^']*)')?\s+in\s+schema\s+(?P<schema>[\w$.]+)$",
    re.IGNORECASE,
)
# System procedures a CALL may name that need no privilege (rule "system-procedure").
NO_PRIVILEGE_PROCEDURES = frozenset({"system$set_return_value"})
_PROPERTY = r"\b{}\s*=\s*(?P<value>'(?:[^']|'')*'|[\w$.]+)"
_NOTIFICATION_INTEGRATION = re.compile(
    r"snowflake\.notification\.(?:\w+_)?integration(?:_config)?\s*\(\s*'(?P<name>[^']+)'", re.I
)
# Functions that need no object privilege: Snowflake's system and context functions.
_SYSTEM_FUNCTION_PREFIXES = ("snowflake.", "system$")


def _property(sql: str, name: str) -> str | None:
    """The value of a top-level `name = value` property of a DDL statement."""
    for match in re.finditer(_PROPERTY.format(re.escape(name)), sql, re.IGNORECASE):
        value = match.group("value")
        return unquote(value) if value.startswith("'") else value.lower()
    return None


def _normal_kind(kind: str) -> str:
    kind = " ".join(kind.lower().split())
    return {"external function": "function", "external table": "table"}.get(kind, kind)


class Checker:
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
            _short(name.lower()): tuple(statements)
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

    # --- the plan -----------------------------------------------------------------------

    def run_plan(self, statements: Sequence[str]) -> None:
        role = self.inputs.deploy_role
        for sql in statements:
            role = self.statement(sql, Actor(first_line(sql), "deploy plan", role))

    def statement(self, sql: str, actor: Actor) -> str:
        """Check one statement as actor.role and apply its effects; returns the active role
        after it (changed only by USE ROLE)."""
        sql = strip_comments(sql).strip().rstrip(";").strip()
        header = " ".join(sql.split()[:12])
        use = _USE.match(" ".join(sql.split()))
        if use:
            return self._use(use.group("kind").lower(), use.group("name"), actor)
        if _SESSION.match(header):
            return actor.role  # ALTER SESSION needs no privilege
        create = _CREATE.match(header)
        if create:
            self._create(sql, create, actor)
            return actor.role
        flat = " ".join(sql.split())
        for pattern, handler in (
            (_GRANT_ROLE, self._grant_role),
            (_GRANT_DATABASE_ROLE, self._grant_database_role),
            (_GRANT, self._grant),
            (_PUT, self._put),
            (_EXECUTE_DBT, self._execute_dbt),
            (_EXECUTE_TASK, self._execute_task),
            (_CALL, self._call),
            (_ALTER_ACCOUNT, self._alter_account),
            (_ALTER_USER, self._alter_user),
            (_ALTER, self._alter),
            (_SHOW, self._show),
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

    # --- USE ----------------------------------------------------------------------------

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

    # --- CREATE -------------------------------------------------------------------------

    def _create(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        kind = _normal_kind(match.group("kind"))
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
        }
        self.require(
            actor,
            *self._schema_needs(on),
            need(f"CREATE {kind.upper()}", schema, create_rule.get(kind, "create")),
        )
        if not self._replace_needs(on, replaces, actor):
            return
        or_replace = (match.group("mode") or "").split()[-1:] == ["replace"]
        copy_grants = re.search(r"\bcopy\s+grants\b", _without_strings(sql), re.I) is not None
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

    def _create_view(self, sql: str, on: Securable, actor: Actor) -> None:
        words = top_level_words(sql)
        start = next((i for i, w in words if w == "as"), None)
        if start is None:
            self.skip(actor, "CREATE VIEW without AS <query>")
            return
        body = sql[start + 2 :].strip()
        self._query(body, actor, rule="create-view")  # the creator reads what the view reads
        self._new(on, actor, body=body)

    def _create_stage(self, sql: str, on: Securable, actor: Actor) -> None:
        integration = _property(sql, "storage_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        self._new(on, actor, external=_property(sql, "url") is not None)

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

    def _stage_read(self, stage: Securable, rule: str = "stage-read") -> list[Need]:
        obj = self.account.objects.get(stage)
        privilege = "USAGE" if obj is not None and obj.external else "READ"
        return [*self._schema_needs(stage), need(privilege, stage, rule)]

    def _create_procedure(self, sql: str, on: Securable, actor: Actor) -> None:
        for stage_path in re.findall(r"'@([\w$.]+)/[^']*'", _property_list(sql, "imports")):
            self.require(actor, *self._stage_read(Securable("stage", self._qualify(stage_path))))
        repository = _property(sql, "artifact_repository") is not None
        if repository:
            self.require(
                actor,
                need(
                    "ROLE",
                    Securable("database role", "snowflake.pypi_repository_user"),
                    "artifact-repository",
                ),
            )
        execute_as = re.search(
            r"\bexecute\s+as\s+(owner|caller|restricted\s+caller)\b", _without_strings(sql), re.I
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
        integration = _property(sql, "api_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        elif re.search(r"\blanguage\s+(python|java|scala|javascript)\b", sql, re.I):
            self.skip(actor, "functions other than external functions are not modelled")
        self._new(on, actor)

    def _create_network_rule(self, sql: str, on: Securable, actor: Actor) -> None:
        self._new(on, actor)

    def _network_rule_list(self, sql: str, actor: Actor) -> None:
        """The network rules a CREATE / ALTER NETWORK POLICY lists (rule "network-policy")."""
        for name in re.findall(r"'([^']*)'", _property_list(sql, "allowed_network_rule_list")):
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

    def _create_task(self, sql: str, on: Securable, actor: Actor) -> None:
        words = top_level_words(sql)
        start = next((i for i, w in words if w == "as"), None)
        if start is None:
            self.skip(actor, "CREATE TASK without AS <statement>")
            return
        header, body = sql[:start], sql[start + 2 :].strip()
        warehouse = _property(header, "warehouse")
        if warehouse:
            self.require(actor, need("USAGE", Securable("warehouse", warehouse), "task-create"))
        else:
            self.require(actor, need("EXECUTE MANAGED TASK", ACCOUNT_OBJECT, "task-create"))
        integration = _property(header, "error_integration")
        if integration:
            self.require(actor, need("USAGE", Securable("integration", integration), "integration"))
        owner = self.account.objects[on].owner if on in self.account.objects else actor.role
        predecessors = re.search(
            r"\bafter\s+(?P<names>[\w$.]+(?:\s*,\s*[\w$.]+)*)", _without_strings(header), re.I
        )
        finalized = _property(header, "finalize")
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
        warehouse = _property(header, "warehouse")
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
        bulk = _BULK.match(on_text)
        if bulk:
            kind = _normal_kind(bulk.group("kinds"))
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
        target = _ON_OBJECT.match(on_text)
        if target is None:
            self.skip(actor, f"GRANT ON {on_text} is not modelled")
            return
        kind = _normal_kind(target.group("kind"))
        parts = {"database": 1, "warehouse": 1, "integration": 1, "schema": 2}.get(kind, 3)
        on = Securable(kind, self._qualify(target.group("name"), parts))
        self.require(
            actor, need("OWNERSHIP", on, "grant-object", ("MANAGE GRANTS", ACCOUNT_OBJECT))
        )
        self.account.grants |= {(grantee, p, on) for p in privileges}

    # --- PUT, EXECUTE, CALL, ALTER ------------------------------------------------------

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

    def _call(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        name = match.group("name").lower()
        if name == "system$send_snowflake_notification":
            if re.search(r"integration(?:_config)?\s*\(\s*\?", sql, re.IGNORECASE):
                self.skip(actor, "notification integration named by a bind variable")
            for integration in _NOTIFICATION_INTEGRATION.findall(sql):
                self.require(
                    actor,
                    need("USAGE", Securable("integration", integration.lower()), "notification"),
                )
            return
        if name in NO_PRIVILEGE_PROCEDURES:
            return
        if name.startswith(_SYSTEM_FUNCTION_PREFIXES):
            self.skip(actor, f"system procedure {name} is not modelled")
            return
        procedure = Securable("procedure", self._qualify(name))
        self.require(actor, *self._schema_needs(procedure), need("USAGE", procedure, "call"))
        obj = self.account.objects.get(procedure)
        if obj is None:
            return
        if obj.artifact_repository:
            self.require(
                actor,
                need(
                    "ROLE",
                    Securable("database role", "snowflake.pypi_repository_user"),
                    "artifact-repository",
                ),
            )
        if obj.execute_as == "caller":
            self.procedure_body(
                obj, actor.via(f"procedure {procedure.name} (caller's rights)", actor.role)
            )

    def _alter(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        kind = _normal_kind(match.group("kind"))
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
        if kind in {"table", "view", "dbt project", "procedure", "function"}:
            self.require(actor, *self._schema_needs(on), need("OWNERSHIP", on, "alter"))
            source = re.search(r"\bfrom\s+'@(?P<stage>[\w$.]+)/", action, re.IGNORECASE)
            if kind == "dbt project" and source:
                stage = Securable("stage", self._qualify(source.group("stage")))
                self.require(actor, *self._stage_read(stage, "dbt-create"))
            return
        self.skip(actor, f"ALTER {kind.upper()} ... {action.split()[0].upper()} is not modelled")

    def _alter_account(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        rest = " ".join(match.group("rest").split())
        names = set(re.findall(r"([a-z_][a-z0-9_]*)\s*=", rest, re.IGNORECASE))
        is_parameters = match.group("verb").lower() == "set" and _ACCOUNT_PARAMETERS.match(rest)
        if not is_parameters or {n.lower() for n in names} & _NOT_PARAMETERS:
            self.skip(actor, "ALTER ACCOUNT other than SET <parameter> = <value> is not modelled")
            return
        administrator = Securable("role", "accountadmin")
        self.require(actor, need("ROLE", administrator, "account-parameters"))

    def _alter_user(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        action = " ".join(match.group("action").split())
        policy = _USER_NETWORK_POLICY.match(action)
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
            kind = _normal_kind(match.group("kinds")[:-1])
            on = Securable(kind, f"{schema.name}.{like.lower()}")
            visible = TASK_VISIBILITY if kind in {"task", "alert"} else ("OWNERSHIP", "SELECT")
            self.require(actor, Need(tuple((p, on) for p in visible), "show"))

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

    # --- queries and DML ----------------------------------------------------------------

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
            written[id(tree.this)] = (self._table(tree.this), _merge_privileges(tree), "merge")
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
            f"{reader.description} > view {_short(view.securable.name)} (owner)",
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
        if name == "information_schema.task_history":
            self._task_history(actor)
            return
        if name in SNOWFLAKE_FUNCTION_ROLES:
            role = Securable("database role", SNOWFLAKE_FUNCTION_ROLES[name])
            self.require(actor, need("ROLE", role, "alert-functions"))
            return
        if "." not in name or name.startswith(_SYSTEM_FUNCTION_PREFIXES):
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

    # --- dbt ----------------------------------------------------------------------------

    def _execute_dbt(self, sql: str, match: re.Match[str], actor: Actor) -> None:
        project = Securable("dbt project", self._qualify(match.group("name")))
        self.require(actor, *self._schema_needs(project), need("USAGE", project, "dbt-execute"))
        dbt = self.inputs.dbt
        literal = _DBT_ARGS.search(match.group("rest"))
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

    # --- runtime actors -----------------------------------------------------------------

    def run_runtime(self) -> None:
        """What runs after the deploy: every task's body, then every alert, then every
        owner's-rights procedure (as its owner), in the order they were created."""
        objects = sorted(self.account.objects.values(), key=lambda o: o.created)
        for obj in [o for o in objects if o.securable.kind == "task"]:
            actor = Actor(obj.statement, f"task {_short(obj.securable.name)} (owner)", obj.owner)
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
            name = _short(obj.securable.name)
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
                    f"procedure {_short(obj.securable.name)} (owner's rights)",
                    obj.owner,
                )
                self.procedure_body(obj, actor)

    def procedure_body(self, procedure: SfObject, actor: Actor) -> None:
        name = procedure.securable.name
        for stage in self.inputs.procedure_file_reads.get(_short(name), ()):
            self.require(actor, *self._stage_read(Securable("stage", self._qualify(stage))))
        if procedure.body:
            self._block(procedure.body, actor)
            return
        statements = self._procedures.get(_short(name))
        if statements is None:
            self.skip(actor, f"no recorded statements for procedure {name}")
            return
        for sql in statements:
            self.statement(sql, replace(actor, statement=first_line(sql)))

    def report(self) -> PrivilegeReport:
        return PrivilegeReport(tuple(self.violations.values()), tuple(self.unchecked.values()))


def _merge_privileges(merge: exp.Merge) -> list[str]:
    """INSERT / UPDATE / DELETE, as the MERGE's WHEN clauses do."""
    privileges: list[str] = []
    for when in merge.find_all(exp.When):
        then = when.args.get("then")
        if isinstance(then, exp.Insert):
            privileges.append("INSERT")
        elif isinstance(then, exp.Update):
            privileges.append("UPDATE")
        elif then is not None and "delete" in then.sql().lower():
            privileges.append("DELETE")
    return sorted(set(privileges))


def _without_strings(sql: str) -> str:
    """`sql` with its '...' and $$...$$ strings emptied (for keyword searches)."""
    return re.sub(r"\$\$.*?\$\$|'(?:[^']|'')*'", "''", sql, flags=re.DOTALL)


def _property_list(sql: str, name: str) -> str:
    match = re.search(rf"\b{name}\s*=\s*\(", sql, re.IGNORECASE)
    if match is None:
        return ""
    start = match.end() - 1
    return sql[start : matching_paren(sql, start) + 1]


def _short(name: str) -> str:
    """schema.name of a database.schema.name."""
    return ".".join(name.split(".")[-2:])


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
