"""The ordered, idempotent Snowflake deploy plan, rendered from the pipeline's one definition.

Sources read, never restated: orchestration/graph.py (tasks), snowpark_procs/snowflake.yml
(procedures), snowpark_procs/sql/schema.sql (raw and ops tables), requirements/lock.txt
(package pins), orchestration/deploy/budget.py (MAX_BATCH_ROWS).

Idempotence: CREATE ... IF NOT EXISTS for stateful objects (database, schemas, tables, stage,
stream, integrations, warehouse, roles), followed by ALTER ... SET where settings may change;
CREATE OR REPLACE ... COPY GRANTS for code (procedures, the external function, views);
CREATE OR ALTER for tasks and alerts. The graph roots are suspended before any task changes
and resumed at the end (unless PIXELFORGE_DEPLOY_RESUME=false).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from orchestration.alerts import EVALUATION_MINUTES, PRODUCTION_CLOCK, alert_rules, render_condition
from orchestration.alerts import NO_SUCCESS_MINUTES as NO_SUCCESS_MINUTES
from orchestration.deploy import artifacts, dbt_versions, tasks
from orchestration.deploy.budget import RENDER_BUDGET, RenderBudget
from orchestration.deploy.procedures import ARTIFACT_STAGE, ProcedureSpec, load_procedures
from orchestration.deploy.render import render_statements, render_text
from orchestration.deploy.settings import DeploySettings
from orchestration.graph import INCREMENTAL, DbtStep, Pipeline
from snowpark_procs.rendering import EXTERNAL_FUNCTION_COMPRESSION
from snowpark_procs.run_config import MAX_BACKFILL_WINDOW
from snowpark_procs.sql import sql_statements

STORAGE_INTEGRATION = "pixelforge_designs"
API_INTEGRATION = "pixelforge_render_api"
ALERTS_INTEGRATION = "pixelforge_alerts"
HEARTBEAT_INTEGRATION = "pixelforge_heartbeat"
# Schemas beyond raw and ops (which schema.sql creates): dbt's layers.
DBT_SCHEMAS = ("staging", "intermediate", "marts", "ops_marts")
# The ops tables the procedures (owned by the loader, owner's rights) write.
# discover writes the reconcile counts and claims run requests, finalize records the run and
# settles its request.
LOADER_OPS_TABLES = ("reconciliation_checks", "pipeline_runs", "run_requests")
# What operators (and the orchestrator's alerts) read.
READABLE_SCHEMAS = ("marts", "ops_marts", "ops")
# The service users' network policy (PIXELFORGE_SERVICE_USERS): an ingress rule in ops, the
# database's own schema for objects no step reads, and an account-level policy naming it.
SERVICE_NETWORK_RULE = "ops.pixelforge_service_ingress"
SERVICE_NETWORK_POLICY = "pixelforge_service_users"
HISTORY_RETENTION_DAYS = 365
HISTORY_OVERLAP_HOURS = 3  # ACCOUNT_USAGE latency is up to 45 min; re-read a margin
ALERT_SCHEDULE = f"{EVALUATION_MINUTES} MINUTE"

# Statement kinds fakesnow (the local warehouse) does not implement, and why; `--target local`
# applies every other statement. Each was tried against fakesnow 0.12.1 (see the report).
LOCAL_SKIPS: dict[str, str] = {
    "role": "fakesnow has no roles (CREATE ROLE / GRANT ROLE are parse errors)",
    "grant": "fakesnow has no access control (GRANT is a parse error)",
    "use_role": "no roles locally; the session's single user owns everything",
    "warehouse": "fakesnow has no warehouses (DuckDB runs in process)",
    "integration": "integrations are AWS handshakes; locally the stack talks to moto directly",
    "external_stage": "external stages, streams and DIRECTORY() need S3 and a directory table; "
    "locally raw.designs_directory is a table the runner refreshes (objects.sql)",
    "prod_view": "the local stack defines its own counterpart (orchestration/local/objects.sql)",
    "put": "the artifacts feed procedures and the dbt project, which run in Snowflake only",
    "procedure": "fakesnow runs no Python or SQL Scripting procedures; locally the runner "
    "calls the handlers in process",
    "external_function": "locally the runner POSTs batches to the render service over HTTP",
    "dbt_project": "locally the runner runs dbt build with the same selectors",
    "task": "fakesnow has no tasks; locally orchestration/local/runner.py walks the same graph",
    "alert": "fakesnow has no alerts or notification integrations",
    "account": "account parameters and network policies govern a Snowflake account; the local "
    "warehouse is a process on 127.0.0.1",
}


@dataclass(frozen=True)
class AccountGuardrail:
    name: str
    reason: str


# What PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS sets ("Parameters",
# https://docs.snowflake.com/en/sql-reference/parameters). None breaks this plan: its two external
# stages name the storage integration, its one internal stage (ops.deploy_artifacts) is not a
# cloud storage location, and nothing in it or in the procedures unloads with COPY INTO
# (tests/orchestration/test_deploy_plan.py::test_security_the_plan_runs_under_its_guardrails).
ACCOUNT_GUARDRAILS: tuple[AccountGuardrail, ...] = (
    AccountGuardrail(
        "prevent_unload_to_inline_url",
        "COPY INTO <location> may unload to named stages only, never to a URL typed into the "
        "statement (settable by ACCOUNTADMIN only; a user-level parameter since the 2025_01 "
        "bundle, https://docs.snowflake.com/en/release-notes/bcr-bundles/2025_01/bcr-1841)",
    ),
    AccountGuardrail(
        "require_storage_integration_for_stage_creation",
        "an external stage must name a storage integration (no credentials in CREATE STAGE): "
        "ours name pixelforge_designs",
    ),
    AccountGuardrail(
        "require_storage_integration_for_stage_operation",
        "loading from or unloading to a private cloud location only through a named external "
        "stage that names a storage integration; internal stages are not concerned",
    ),
)


# Valid Snowflake that sqlfluff 4.4's snowflake dialect cannot parse. The tests lint each
# statement on its own, expect exactly these to fail parsing (so the list stays honest) and
# lint everything else.
SQLFLUFF_GAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"grant create alert on schema "), "no CREATE ALERT schema privilege"),
    (re.compile(r"grant execute managed alert on account "), "no EXECUTE MANAGED ALERT"),
    (re.compile(r"create dbt project .*\bdbt_version = ", re.S), "no DBT_VERSION property"),
    (re.compile(r"alter dbt project "), "no ALTER DBT PROJECT"),
    (re.compile(r"create or alter network rule "), "no CREATE OR ALTER NETWORK RULE"),
)


def sqlfluff_gap(sql: str) -> str | None:
    """Why sqlfluff cannot parse this statement, or None when it can."""
    return next((reason for pattern, reason in SQLFLUFF_GAPS if pattern.match(sql)), None)


@dataclass(frozen=True)
class PlanStatement:
    """One statement of the plan; `kind` decides whether --target local applies it."""

    section: str
    kind: str
    sql: str
    note: str = ""

    @property
    def local(self) -> bool:
        return self.kind not in LOCAL_SKIPS

    def render(self) -> str:
        comment = "".join(f"-- {line}\n" for line in _wrap(self.note)) if self.note else ""
        return f"{comment}{self.sql};\n"


@dataclass(frozen=True)
class Grant:
    privileges: str
    on: str
    role: str


@dataclass(frozen=True)
class RoleGrant:
    granted: str
    grantee: str


@dataclass(frozen=True)
class AlertSpec:
    name: str
    schedule: str
    condition: str
    message: str  # JSON text
    integration: str

    @property
    def message_helper(self) -> str:
        return notification_helper(NOTIFICATION_INTEGRATION_TYPES[self.integration])


@dataclass(frozen=True)
class NotificationIntegration:
    name: str
    topic_arn: str
    type: str = "queue"


# SYSTEM$SEND_SNOWFLAKE_NOTIFICATION: "plain text or HTML for email, JSON for queues" and for
# webhooks ("SYSTEM$SEND_SNOWFLAKE_NOTIFICATION", "Sending notifications to a queue",
# https://docs.snowflake.com/en/sql-reference/stored-procedures/system_send_snowflake_notification).
# A queue (SNS) integration given TEXT_PLAIN delivers nothing.
NOTIFICATION_HELPERS = {
    "queue": "snowflake.notification.application_json",
    "webhook": "snowflake.notification.application_json",
    "email": "snowflake.notification.text_plain",
}
# Every notification integration the plan creates, by name: all SNS queues.
NOTIFICATION_INTEGRATION_TYPES = {ALERTS_INTEGRATION: "queue", HEARTBEAT_INTEGRATION: "queue"}


def notification_helper(integration_type: str) -> str:
    """The SNOWFLAKE.NOTIFICATION helper that builds a message this integration type takes."""
    try:
        return NOTIFICATION_HELPERS[integration_type]
    except KeyError:
        raise ValueError(f"no message helper for integration type {integration_type!r}") from None


def _wrap(text: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


class _Plan:
    def __init__(self) -> None:
        self.statements: list[PlanStatement] = []
        self.section = ""

    def add(self, kind: str, sql: str, note: str = "") -> None:
        self.statements.append(PlanStatement(self.section, kind, sql, note))

    def add_template(self, kind: str, template: str, **context: object) -> None:
        for sql, note in render_statements(template, **context):
            self.add(kind, sql, note)


# --- decisions -------------------------------------------------------------------------


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
        # loader: the procedures read raw files and write raw tables
        Grant("usage, create procedure", f"schema {db}.raw", s.loader_role),
        Grant("select, insert, update, delete", f"all tables in schema {db}.raw", s.loader_role),
        Grant("select, insert, update, delete", f"future tables in schema {db}.raw", s.loader_role),
        Grant("select", f"all views in schema {db}.raw", s.loader_role),
        Grant("usage", f"schema {db}.ops", s.loader_role),
        # finalize (owner's rights) sends the heartbeat through its integration
        Grant("usage", f"integration {HEARTBEAT_INTEGRATION}", s.loader_role),
        # owner's-rights procedures write these ops tables
        *(
            Grant("select, insert, update", f"table {db}.ops.{table}", s.loader_role)
            for table in LOADER_OPS_TABLES
        ),
        Grant("read", f"stage {db}.{ARTIFACT_STAGE}", s.loader_role),
        # render: owns raw.render_thumbnail, so it alone needs the API integration
        Grant("usage, create function", f"schema {db}.raw", s.render_role),
        Grant("usage", f"integration {API_INTEGRATION}", s.render_role),
        # transformer: dbt reads raw, builds staging/intermediate/marts
        Grant("usage", f"schema {db}.raw", s.transformer_role),
        Grant("select", f"all tables in schema {db}.raw", s.transformer_role),
        Grant("select", f"future tables in schema {db}.raw", s.transformer_role),
        Grant("select", f"all views in schema {db}.raw", s.transformer_role),
        *(
            Grant("usage, create table, create view", f"schema {db}.{schema}", s.transformer_role)
            for schema in DBT_SCHEMAS
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
        Grant("usage", f"integration {STORAGE_INTEGRATION}", s.orchestrator_role),
        Grant("usage", f"integration {ALERTS_INTEGRATION}", s.orchestrator_role),
        Grant("usage", f"integration {HEARTBEAT_INTEGRATION}", s.orchestrator_role),
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
    return [
        f"grant database role snowflake.usage_viewer to role {s.orchestrator_role}",
        f"grant database role snowflake.alert_viewer to role {s.orchestrator_role}",
        *(
            f"grant database role snowflake.pypi_repository_user to role {role}"
            for role in (s.loader_role, s.orchestrator_role)
        ),
    ]


def alerts(pipeline: Pipeline) -> list[AlertSpec]:
    """The Snowflake ALERTs: orchestration/alerts.py's rules over the live task history."""
    return [
        AlertSpec(
            f"ops.{pipeline.name}_{rule.name}",
            ALERT_SCHEDULE,
            render_condition(rule, PRODUCTION_CLOCK),
            json.dumps(rule.payload(pipeline.name), sort_keys=True),
            ALERTS_INTEGRATION,
        )
        for rule in alert_rules(pipeline)
    ]


def budget_note(budget: RenderBudget) -> str:
    per_row = budget.batch_seconds(1)
    return (
        f"floor({budget.async_timeout_s:g} s async timeout x {budget.usable_fraction:g} usable / "
        f"({budget.worst_file_cpu_s:g} CPU-s worst file x {budget.derate:g} derate x "
        f"{budget.concurrent_batches_per_task} batches in flight / "
        f"{budget.workers_per_task} workers = {per_row:.2f} s per row))"
    )


# --- the plan ---------------------------------------------------------------------------


def render_plan(
    target_settings: DeploySettings,
    pipeline: Pipeline = INCREMENTAL,
    procedures: tuple[ProcedureSpec, ...] | None = None,
    budget: RenderBudget = RENDER_BUDGET,
) -> list[PlanStatement]:
    """Every statement of the deploy, in order; see the module docstring for idempotence."""
    s = target_settings
    procs = load_procedures() if procedures is None else procedures
    plan = _Plan()
    root = tasks.root_task_name(pipeline)
    task_specs = tasks.incremental_tasks(
        pipeline, s.warehouse, ALERTS_INTEGRATION, HEARTBEAT_INTEGRATION
    )
    copy_body = render_text(
        "task_history_copy.sql.j2",
        database_upper=s.database.upper(),
        overlap_hours=HISTORY_OVERLAP_HOURS,
        retention_days=HISTORY_RETENTION_DAYS,
    ).strip()
    standalone = (
        tasks.reconciliation_task(pipeline, ALERTS_INTEGRATION),
        tasks.history_copy_task(copy_body),
    )

    if s.account_guardrails:
        # first, so a deploying role that may not set them stops the deploy before any change
        plan.section = "account guardrails (PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS; ACCOUNTADMIN)"
        plan.add_template("account", "account_guardrails.sql.j2", parameters=ACCOUNT_GUARDRAILS)

    plan.section = "database"
    plan.add_template("database", "database.sql.j2", database=s.database)
    plan.add("use", f"use database {s.database}")

    plan.section = "tables (snowpark_procs/sql/schema.sql)"
    for statement in sql_statements("schema"):
        kind = "schema" if statement.lower().startswith("create schema") else "table"
        plan.add(kind, statement)
    plan.add_template("schema", "schemas.sql.j2", schemas=DBT_SCHEMAS)
    plan.add_template("table", "ops_tables.sql.j2")
    plan.add_template("prod_view", "task_history_view.sql.j2")

    plan.section = "warehouse"
    plan.add_template(
        "warehouse",
        "warehouse.sql.j2",
        warehouse=s.warehouse,
        size=s.warehouse_size,
        auto_suspend_s=s.warehouse_auto_suspend_s,
    )

    plan.section = "integrations"
    plan.add_template(
        "integration",
        "integrations.sql.j2",
        storage_integration=STORAGE_INTEGRATION,
        storage_role_arn=s.storage_role_arn,
        stage_url=s.stage_url,
        thumbnails_stage_url=s.thumbnails_stage_url,
        api_integration=API_INTEGRATION,
        render_api_role_arn=s.render_api_role_arn,
        render_api_url=s.render_api_url,
        sns_role_arn=s.sns_role_arn,
        notification_integrations=(
            NotificationIntegration(
                ALERTS_INTEGRATION,
                s.alerts_topic_arn,
                NOTIFICATION_INTEGRATION_TYPES[ALERTS_INTEGRATION],
            ),
            NotificationIntegration(
                HEARTBEAT_INTEGRATION,
                s.heartbeat_topic_arn,
                NOTIFICATION_INTEGRATION_TYPES[HEARTBEAT_INTEGRATION],
            ),
        ),
    )

    plan.section = "artifact stage"
    plan.add_template("internal_stage", "artifact_stage.sql.j2", stage=ARTIFACT_STAGE)

    plan.section = "artifacts (built by --apply; PUT by the deploying role, which owns the stage)"
    plan.add_template("put", "put.sql.j2", uploads=artifacts.uploads(s.artifact_dir))

    plan.section = "roles and grants"
    roles = (s.loader_role, s.transformer_role, s.operator_role, s.render_role, s.orchestrator_role)
    plan.add_template("role", "roles.sql.j2", roles=roles, role_grants=role_grants(s))
    plan.add_template("grant", "grants.sql.j2", grants=object_grants(s))
    for sql in database_role_grants(s):
        plan.add("grant", sql)

    if s.service_network_policy:
        plan.section = "network policy for the service users (PIXELFORGE_SERVICE_USERS)"
        plan.add_template(
            "account",
            "network_policy.sql.j2",
            rule=SERVICE_NETWORK_RULE,
            rule_reference=f"{s.database}.{SERVICE_NETWORK_RULE}",
            cidrs=s.service_network_cidrs,
            policy=SERVICE_NETWORK_POLICY,
            # unquoted identifiers are case-insensitive; lower case like every other name here
            users=tuple(user.lower() for user in s.service_users),
        )

    plan.section = "suspend the task graphs before changing them"
    suspend = [f"alter task if exists {t} suspend" for t in (root, *(t.name for t in standalone))]
    plan.add_template("task", "task_state.sql.j2", statements=suspend)

    plan.section = "designs stage (owned by the orchestrator, which refreshes it)"
    plan.add("use_role", f"use role {s.orchestrator_role}")
    plan.add_template(
        "external_stage",
        "designs_stage.sql.j2",
        stage_url=s.stage_url,
        thumbnails_stage_url=s.thumbnails_stage_url,
        storage_integration=STORAGE_INTEGRATION,
    )
    plan.add_template(
        "grant",
        "grants.sql.j2",
        grants=[
            Grant("usage", f"stage {s.database}.raw.designs_stage", s.loader_role),
            Grant("select", f"view {s.database}.raw.designs_directory", s.loader_role),
            Grant("select", f"view {s.database}.raw.designs_directory", s.transformer_role),
            Grant("usage", f"stage {s.database}.raw.thumbnails_stage", s.loader_role),
            Grant("select", f"view {s.database}.raw.thumbnails_directory", s.loader_role),
        ],
    )

    plan.section = "procedures (snowpark_procs/snowflake.yml)"
    plan.add("use_role", f"use role {s.loader_role}")
    plan.add_template("procedure", "procedures.sql.j2", procedures=procs)

    plan.section = "external function"
    plan.add("use_role", f"use role {s.render_role}")
    plan.add_template(
        "external_function",
        "external_function.sql.j2",
        api_integration=API_INTEGRATION,
        max_batch_rows=budget.max_batch_rows(),
        budget_note=budget_note(budget),
        function_url=s.render_function_url,
        compression=EXTERNAL_FUNCTION_COMPRESSION,
    )
    plan.add_template(
        "grant",
        "grants.sql.j2",
        grants=[
            Grant(
                "usage",
                f"function {s.database}.raw.render_thumbnail(varchar, varchar, varchar, number)",
                s.loader_role,
            )
        ],
    )

    plan.section = "dbt project"
    plan.add("use_role", f"use role {s.orchestrator_role}")
    plan.add_template(
        "dbt_project",
        "dbt_project.sql.j2",
        project=tasks.DBT_PROJECT,
        source=f"@{ARTIFACT_STAGE}/{artifacts.DBT_STAGE_PATH}/",
        dbt_version=dbt_versions.PINNED,
    )

    plan.section = f"task graph {pipeline.name} (orchestration/graph.py)"
    plan.add_template("task", "tasks.sql.j2", tasks=task_specs)

    plan.section = "standalone tasks: reconciliation and task-history copy"
    plan.add_template("task", "tasks.sql.j2", tasks=standalone)
    # raw.finalize (owner's rights, owned by the loader) reads INFORMATION_SCHEMA.TASK_HISTORY(),
    # which shows a role only the tasks it owns or has MONITOR or OPERATE on ("TASK_HISTORY",
    # usage notes, https://docs.snowflake.com/en/sql-reference/functions/task_history).
    plan.add_template(
        "grant",
        "grants.sql.j2",
        grants=[
            Grant("monitor", f"task {s.database}.{t.name}", s.loader_role)
            for t in (*task_specs, *standalone)
        ],
    )

    plan.section = "backfill"
    plan.add_template(
        "procedure", "backfill.sql.j2", root=root, max_window_days=MAX_BACKFILL_WINDOW.days
    )
    # Operators request backfills; the procedure (owner's rights) queues the request and starts
    # the graph, so they need nothing else (they hold no role that writes or runs tasks).
    plan.add_template(
        "grant",
        "grants.sql.j2",
        grants=[
            Grant(
                "usage",
                f"procedure {s.database}.ops.backfill(timestamp_tz, timestamp_tz)",
                s.operator_role,
            )
        ],
    )

    plan.section = "alerts (orchestration/alerts.py)"
    # The ops views (schema ops_marts) some alert conditions read are views, so built here once.
    # They read the staging views and the marts, which the graph's dbt steps create: on a first
    # deploy those do not exist yet, so the graph's dbt steps run first, with the tasks' own
    # arguments (idempotent merges: on a redeploy, one more incremental pass). A project the
    # pinned dbt cannot compile or build stops the deploy here, before the graph is resumed.
    dbt_steps = [step for step in pipeline.ordered_steps() if isinstance(step, DbtStep)]
    for step in [*dbt_steps, DbtStep("ops", selector="ops")]:
        plan.add(
            "dbt_project",
            tasks.step_body(step),
            note=f"dbt selector {step.selector}"
            + (": the ops views and the unit-prices seed" if step.selector == "ops" else ""),
        )
    plan.add_template("alert", "alerts.sql.j2", alerts=alerts(pipeline))

    if s.resume_tasks:
        plan.section = "resume"
        resume = [
            f"select system$task_dependents_enable('{s.database}.{root}')",
            *(f"alter task {t.name} resume" for t in standalone),
            *(f"alter alert {a.name} resume" for a in alerts(pipeline)),
        ]
        plan.add_template("task", "task_state.sql.j2", statements=resume)
    plan.section = "done"
    plan.add("use_role", f"use role {s.deploy_role}")
    return plan.statements


def plan_text(statements: list[PlanStatement]) -> str:
    """The plan as one SQL script, with section headers."""
    out: list[str] = []
    section = None
    for statement in statements:
        if statement.section != section:
            section = statement.section
            out.append(f"\n-- ==== {section} ====\n")
        out.append(statement.render())
    return "".join(out).lstrip("\n")
