"""Who may do what: the role hierarchy and every grant of the deploy plan, decided here.

Least privilege per role on objects that exist when the grant runs; the plan's sections place
each list right after the objects it names (orchestration/deploy/sections.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestration.deploy import names
from orchestration.deploy.procedures import ARTIFACT_STAGE
from orchestration.deploy.settings import DeploySettings
from orchestration.deploy.tasks import TaskSpec

# The ops tables the procedures (owned by the loader, owner's rights) write.
# discover writes the reconcile counts and claims run requests, finalize records the run and
# settles its request.
LOADER_OPS_TABLES = ("reconciliation_checks", "pipeline_runs", "run_requests")
# What operators (and the orchestrator's alerts) read.
READABLE_SCHEMAS = ("marts", "ops_marts", "ops")


@dataclass(frozen=True)
class Grant:
    privileges: str
    on: str
    role: str


@dataclass(frozen=True)
class RoleGrant:
    granted: str
    grantee: str


def roles(s: DeploySettings) -> tuple[str, ...]:
    """The roles the plan creates (the deploying role exists already)."""
    return (s.loader_role, s.transformer_role, s.operator_role, s.render_role, s.orchestrator_role)


def role_grants(s: DeploySettings) -> list[RoleGrant]:
    """The hierarchy: the orchestrator runs steps as loader and dbt as transformer; the
    deploying role holds every role so the plan can create objects owned by each."""
    return [
        RoleGrant(s.loader_role, s.orchestrator_role),
        RoleGrant(s.transformer_role, s.orchestrator_role),
        *(
            RoleGrant(role, s.deploy_role)
            for role in (s.orchestrator_role, s.render_role, s.operator_role)
        ),
    ]


def object_grants(s: DeploySettings) -> list[Grant]:
    """Least privilege per role, on objects that exist by now (future grants for dbt's)."""
    db = s.database
    everyone = (s.loader_role, s.transformer_role, s.operator_role, s.render_role)
    grants = [Grant("usage", f"database {db}", role) for role in (*everyone, s.orchestrator_role)]
    grants += [
        # loader: the procedures read raw files and write raw tables; it owns the UDFs they
        # call (snowflake.yml `type: function`)
        Grant("usage, create procedure, create function", f"schema {db}.raw", s.loader_role),
        Grant("select, insert, update, delete", f"all tables in schema {db}.raw", s.loader_role),
        Grant("select, insert, update, delete", f"future tables in schema {db}.raw", s.loader_role),
        Grant("select", f"all views in schema {db}.raw", s.loader_role),
        Grant("usage", f"schema {db}.ops", s.loader_role),
        # finalize (owner's rights) sends the heartbeat through its integration
        Grant("usage", f"integration {names.HEARTBEAT_INTEGRATION}", s.loader_role),
        # owner's-rights procedures write these ops tables
        *(
            Grant("select, insert, update", f"table {db}.ops.{table}", s.loader_role)
            for table in LOADER_OPS_TABLES
        ),
        Grant("read", f"stage {db}.{ARTIFACT_STAGE}", s.loader_role),
        # render: owns the external function (names.RENDER_FUNCTION), so it alone needs the
        # API integration
        Grant("usage, create function", f"schema {db}.raw", s.render_role),
        Grant("usage", f"integration {names.API_INTEGRATION}", s.render_role),
        # transformer: dbt reads raw, builds staging/intermediate/marts
        Grant("usage", f"schema {db}.raw", s.transformer_role),
        Grant("select", f"all tables in schema {db}.raw", s.transformer_role),
        Grant("select", f"future tables in schema {db}.raw", s.transformer_role),
        Grant("select", f"all views in schema {db}.raw", s.transformer_role),
        *(
            Grant("usage, create table, create view", f"schema {db}.{schema}", s.transformer_role)
            for schema in names.DBT_SCHEMAS
        ),
        # the ops models read ops.task_history and ops.pipeline_runs (dbt runs as this role), and
        # the ops_marts views it owns are read by the alerts with their owner's privileges
        Grant("usage", f"schema {db}.ops", s.transformer_role),
        *(
            Grant("select", f"{scope} in schema {db}.ops", s.transformer_role)
            for scope in ("all tables", "future tables", "all views", "future views")
        ),
        Grant("usage", f"warehouse {s.warehouse}", s.transformer_role),
        # orchestrator: owns the stage, stream, tasks, alerts and the dbt project
        Grant(
            "usage, create stage, create stream, create view",
            f"schema {db}.raw",
            s.orchestrator_role,
        ),
        Grant(
            "usage, create task, create procedure, create dbt project",
            f"schema {db}.ops",
            s.orchestrator_role,
        ),
        Grant("create alert", f"schema {db}.ops", s.orchestrator_role),
        Grant("select, insert, update", f"all tables in schema {db}.ops", s.orchestrator_role),
        Grant("select, insert, update", f"future tables in schema {db}.ops", s.orchestrator_role),
        Grant("read", f"stage {db}.{ARTIFACT_STAGE}", s.orchestrator_role),
        Grant("usage, operate", f"warehouse {s.warehouse}", s.orchestrator_role),
        Grant("usage", f"integration {names.STORAGE_INTEGRATION}", s.orchestrator_role),
        Grant("usage", f"integration {names.ALERTS_INTEGRATION}", s.orchestrator_role),
        Grant("usage", f"integration {names.HEARTBEAT_INTEGRATION}", s.orchestrator_role),
        Grant("execute task, execute managed task, execute alert", "account", s.orchestrator_role),
        Grant("execute managed alert", "account", s.orchestrator_role),
        # operator: read-only over the marts and the operational history
        *(
            Grant("usage", f"schema {db}.{schema}", role)
            for schema in READABLE_SCHEMAS
            for role in (s.operator_role, s.orchestrator_role)
        ),
        *(
            Grant("select", f"{scope} in schema {db}.{schema}", role)
            for schema in READABLE_SCHEMAS
            for scope in ("all tables", "future tables", "all views", "future views")
            for role in (s.operator_role, s.orchestrator_role)
        ),
        Grant("usage", f"warehouse {s.warehouse}", s.operator_role),
        # transformer: owns the design search service over the mart it builds
        # (orchestration/deploy/search_service.py)
        Grant("create cortex search service", f"schema {db}.marts", s.transformer_role),
    ]
    return grants


def database_role_grants(s: DeploySettings) -> list[str]:
    # TASK_HISTORY in ACCOUNT_USAGE is readable through USAGE_VIEWER (narrower than IMPORTED
    # PRIVILEGES on the SNOWFLAKE database).
    # PYPI_REPOSITORY_USER is "required for any role that uses
    # snowflake.snowpark.pypi_shared_repository, including roles that execute UDFs or stored
    # procedures referencing it" ("Using third-party packages",
    # https://docs.snowflake.com/en/developer-guide/udf/python/udf-python-packages): the loader
    # creates and owns the procedures (owner's rights), the orchestrator's tasks call them.
    # Granted explicitly: the account may have revoked the default grant to PUBLIC.
    # SNOWFLAKE.ALERT.SCHEDULED_TIME / LAST_SUCCESSFUL_SCHEDULED_TIME, which every alert
    # condition calls, need ALERT_VIEWER in the role the alert runs as, its owner ("SCHEDULED_TIME",
    # usage notes, https://docs.snowflake.com/en/sql-reference/functions/scheduled_time).
    # SNOWFLAKE.CORTEX_USER: creating and querying the design search service (Cortex Search)
    # needs it ("Query a Cortex Search Service", https://docs.snowflake.com/en/user-guide/
    # snowflake-cortex/cortex-search/query-cortex-search-service); the transformer owns the
    # service, operators query it (orchestration/deploy/search_service.py).
    return [
        f"grant database role snowflake.usage_viewer to role {s.orchestrator_role}",
        f"grant database role snowflake.alert_viewer to role {s.orchestrator_role}",
        *(
            f"grant database role snowflake.pypi_repository_user to role {role}"
            for role in (s.loader_role, s.orchestrator_role)
        ),
        *(
            f"grant database role snowflake.cortex_user to role {role}"
            for role in (s.transformer_role, s.operator_role)
        ),
    ]


def designs_stage_grants(s: DeploySettings) -> list[Grant]:
    """The stages and directory views the orchestrator owns, read by the steps and dbt."""
    return [
        Grant("usage", f"stage {s.database}.raw.designs_stage", s.loader_role),
        Grant("select", f"view {s.database}.raw.designs_directory", s.loader_role),
        Grant("select", f"view {s.database}.raw.designs_directory", s.transformer_role),
        Grant("usage", f"stage {s.database}.raw.thumbnails_stage", s.loader_role),
        Grant("select", f"view {s.database}.raw.thumbnails_directory", s.loader_role),
    ]


def render_function_grants(s: DeploySettings) -> list[Grant]:
    """The render step's procedure (owned by the loader) calls the external function."""
    function = names.signature(names.RENDER_FUNCTION, names.RENDER_FUNCTION_ARGUMENTS)
    return [Grant("usage", f"function {s.database}.{function}", s.loader_role)]


def task_monitor_grants(s: DeploySettings, specs: Iterable[TaskSpec]) -> list[Grant]:
    """raw.finalize (owner's rights, owned by the loader) reads INFORMATION_SCHEMA.TASK_HISTORY(),
    which shows a role only the tasks it owns or has MONITOR or OPERATE on ("TASK_HISTORY",
    usage notes, https://docs.snowflake.com/en/sql-reference/functions/task_history)."""
    return [Grant("monitor", f"task {s.database}.{t.name}", s.loader_role) for t in specs]


def backfill_grants(s: DeploySettings) -> list[Grant]:
    """Operators request backfills and re-processings (or their dry runs); the procedures
    (owner's rights) price and queue the request and start the graph, so they need nothing else
    (they hold no role that writes or runs tasks)."""
    return [
        Grant(
            "usage", f"procedure {s.database}.{names.signature(name, arguments)}", s.operator_role
        )
        for name, arguments in (
            (names.BACKFILL_PROCEDURE, names.BACKFILL_ARGUMENTS),
            (names.BACKFILL_PROCEDURE, names.BACKFILL_DRY_RUN_ARGUMENTS),
            (names.REPROCESS_PROCEDURE, names.REPROCESS_ARGUMENTS),
        )
    ]
