"""The privilege checker's rules: each documented requirement of Snowflake's access control the
checker applies, with the page it comes from (a violation cites its rule's page).

One table, one entry per rule; it is over 300 lines because each of the ~45 rules carries its
wording and its sources, and splitting the table would split the one place a rule is declared.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        "drop",
        "DROP PROCEDURE / DROP FUNCTION needs OWNERSHIP of the procedure or function",
        _command_page("drop-procedure", "DROP PROCEDURE")
        + "; "
        + _command_page("drop-function", "DROP FUNCTION"),
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
        "an owner's-rights procedure opens, a scoped URL BUILD_SCOPED_FILE_URL builds) needs "
        "USAGE on an external stage, READ on an internal one",
        PRIVILEGES_PAGE
        + " (Stage privileges); "
        + _command_page("create-stream", "CREATE STREAM")
        + "; https://docs.snowflake.com/en/developer-guide/stored-procedure/python/"
        "procedure-python-read-files (Reading files with a procedure handler); "
        "https://docs.snowflake.com/en/sql-reference/functions/build_scoped_file_url "
        "(BUILD_SCOPED_FILE_URL: the URL is valid for the caller, who must have the stage's "
        "privileges)",
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
        "search-service",
        "CREATE CORTEX SEARCH SERVICE on the schema, USAGE on the warehouse it names, SELECT on "
        "what its query reads, and the database role SNOWFLAKE.CORTEX_USER",
        _command_page("create-cortex-search", "CREATE CORTEX SEARCH SERVICE")
        + "; https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-search/"
        "query-cortex-search-service (Query a Cortex Search Service)",
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
