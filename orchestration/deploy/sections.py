"""The deploy plan's sections, one function each, in the order orchestration/deploy/plan.py
calls them. A section names itself, adds its statements and the grants on what it created; the
decisions (grants, task specs, alerts, names) live in their own modules."""

from __future__ import annotations

from orchestration.capacity import capacity_model
from orchestration.deploy import (
    artifacts,
    dbt_versions,
    grants,
    names,
    notifications,
    search_service,
    tasks,
)
from orchestration.deploy.account import ACCOUNT_GUARDRAILS
from orchestration.deploy.procedures import ARTIFACT_STAGE, ProcedureSpec
from orchestration.deploy.settings import DeploySettings
from orchestration.deploy.statements import PlanBuilder
from orchestration.deploy.tasks import TaskSpec
from orchestration.graph import OPS_VIEWS, DbtStep, Pipeline
from pixelforge_core.facets import FACET_NAMES
from pixelforge_core.render_budget import RenderBudget
from pixelforge_core.render_wire import EXTERNAL_FUNCTION_COMPRESSION
from snowpark_procs.run_config import MAX_BACKFILL_WINDOW, REPROCESS_STEPS
from snowpark_procs.sql import sql_statements


def account_guardrails(plan: PlanBuilder) -> None:
    # first, so a deploying role that may not set them stops the deploy before any change
    plan.section = "account guardrails (PIXELFORGE_DEPLOY_ACCOUNT_GUARDRAILS; ACCOUNTADMIN)"
    plan.add_template("account", "account_guardrails.sql.j2", parameters=ACCOUNT_GUARDRAILS)


def database(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "database"
    plan.add_template("database", "database.sql.j2", database=s.database)
    plan.add("use", f"use database {s.database}")


def tables(plan: PlanBuilder) -> None:
    """Every table from schema.sql, the one definition the local stack applies too."""
    plan.section = "tables (snowpark_procs/sql/schema.sql)"
    for statement in sql_statements("schema"):
        kind = "schema" if statement.lower().startswith("create schema") else "table"
        plan.add(kind, statement)
    plan.add_template("schema", "schemas.sql.j2", schemas=names.DBT_SCHEMAS)
    plan.add_template("prod_view", "task_history_view.sql.j2")


def warehouse(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "warehouse"
    plan.add_template(
        "warehouse",
        "warehouse.sql.j2",
        warehouse=s.warehouse,
        size=s.warehouse_size,
        auto_suspend_s=s.warehouse_auto_suspend_s,
    )


def integrations(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "integrations"
    plan.add_template(
        "integration",
        "integrations.sql.j2",
        storage_integration=names.STORAGE_INTEGRATION,
        storage_role_arn=s.storage_role_arn,
        stage_url=s.stage_url,
        thumbnails_stage_url=s.thumbnails_stage_url,
        api_integration=names.API_INTEGRATION,
        render_api_role_arn=s.render_api_role_arn,
        render_api_url=s.render_api_url,
        sns_role_arn=s.sns_role_arn,
        notification_integrations=notifications.notification_integrations(s),
    )


def artifact_stage(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "artifact stage"
    plan.add_template("internal_stage", "artifact_stage.sql.j2", stage=ARTIFACT_STAGE)

    plan.section = "artifacts (built by --apply; PUT by the deploying role, which owns the stage)"
    plan.add_template("put", "put.sql.j2", uploads=artifacts.uploads(s.artifact_dir))


def roles_and_grants(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "roles and grants"
    plan.add_template(
        "role", "roles.sql.j2", roles=grants.roles(s), role_grants=grants.role_grants(s)
    )
    plan.add_template("grant", "grants.sql.j2", grants=grants.object_grants(s))
    for sql in grants.database_role_grants(s):
        plan.add("grant", sql)


def network_policy(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "network policy for the service users (PIXELFORGE_SERVICE_USERS)"
    plan.add_template(
        "account",
        "network_policy.sql.j2",
        rule=names.SERVICE_NETWORK_RULE,
        rule_reference=f"{s.database}.{names.SERVICE_NETWORK_RULE}",
        cidrs=s.service_network_cidrs,
        policy=names.SERVICE_NETWORK_POLICY,
        # unquoted identifiers are case-insensitive; lower case like every other name here
        users=tuple(user.lower() for user in s.service_users),
    )


def suspend_tasks(plan: PlanBuilder, roots: tuple[TaskSpec, ...]) -> None:
    plan.section = "suspend the task graphs before changing them"
    suspend = [f"alter task if exists {t.name} suspend" for t in roots]
    plan.add_template("task", "task_state.sql.j2", statements=suspend)


def designs_stage(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "designs stage (owned by the orchestrator, which refreshes it)"
    plan.add("use_role", f"use role {s.orchestrator_role}")
    plan.add_template(
        "external_stage",
        "designs_stage.sql.j2",
        stage_url=s.stage_url,
        thumbnails_stage_url=s.thumbnails_stage_url,
        storage_integration=names.STORAGE_INTEGRATION,
    )
    plan.add_template("grant", "grants.sql.j2", grants=grants.designs_stage_grants(s))


def procedures(
    plan: PlanBuilder,
    s: DeploySettings,
    procs: tuple[ProcedureSpec, ...],
    functions: tuple[ProcedureSpec, ...] = (),
) -> None:
    """The procedures and the Python UDFs they call, all owned by the loader: an owner's-rights
    procedure calls its owner's function with no grant, and the function reads the stage files
    in its owner's context ("SnowflakeFile.open")."""
    plan.section = "procedures and functions (snowpark_procs/snowflake.yml)"
    plan.add("use_role", f"use role {s.loader_role}")
    _drop_retired(plan, "function", names.RETIRED_FUNCTIONS)
    if functions:
        plan.add_template("function", "functions.sql.j2", functions=functions)
    plan.add_template("procedure", "procedures.sql.j2", procedures=procs)


def _drop_retired(
    plan: PlanBuilder, kind: str, retired: tuple[tuple[str, tuple[str, ...]], ...]
) -> None:
    if retired:
        signatures = [names.signature(name, arguments) for name, arguments in retired]
        plan.add_template(kind, "retired.sql.j2", object_kind=kind, signatures=signatures)


def budget_note(budget: RenderBudget) -> str:
    per_row = budget.batch_seconds(1)
    return (
        f"floor({budget.async_timeout_s:g} s async timeout x {budget.usable_fraction:g} usable / "
        f"({budget.worst_file_cpu_s:g} CPU-s worst file x {budget.derate:g} derate x "
        f"{budget.concurrent_batches_per_task} batches in flight / "
        f"{budget.workers_per_task} workers = {per_row:.2f} s per row))"
    )


def external_function(plan: PlanBuilder, s: DeploySettings, budget: RenderBudget) -> None:
    plan.section = "external function"
    plan.add("use_role", f"use role {s.render_role}")
    plan.add_template(
        "external_function",
        "external_function.sql.j2",
        function=names.RENDER_FUNCTION,
        api_integration=names.API_INTEGRATION,
        max_batch_rows=budget.max_batch_rows(),
        budget_note=budget_note(budget),
        function_url=s.render_function_url,
        compression=EXTERNAL_FUNCTION_COMPRESSION,
    )
    plan.add_template("grant", "grants.sql.j2", grants=grants.render_function_grants(s))


def dbt_project(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "dbt project"
    plan.add("use_role", f"use role {s.orchestrator_role}")
    plan.add_template(
        "dbt_project",
        "dbt_project.sql.j2",
        project=names.DBT_PROJECT,
        source=f"@{ARTIFACT_STAGE}/{artifacts.DBT_STAGE_PATH}/",
        dbt_version=dbt_versions.PINNED,
    )


def task_graphs(
    plan: PlanBuilder,
    s: DeploySettings,
    pipeline: Pipeline,
    graph: tuple[TaskSpec, ...],
    standalone: tuple[TaskSpec, ...],
) -> None:
    plan.section = f"task graph {pipeline.name} (orchestration/graph.py)"
    plan.add_template("task", "tasks.sql.j2", tasks=graph)

    plan.section = "standalone tasks: reconciliation and task-history copy"
    plan.add_template("task", "tasks.sql.j2", tasks=standalone)
    monitor = grants.task_monitor_grants(s, (*graph, *standalone))
    plan.add_template("grant", "grants.sql.j2", grants=monitor)


def backfill(plan: PlanBuilder, s: DeploySettings, pipeline: Pipeline) -> None:
    plan.section = "backfill and re-processing"
    # their dry runs price a request with the capacity model (orchestration/capacity.py)
    model_json = capacity_model().to_json()
    plan.add_template(
        "procedure",
        "backfill.sql.j2",
        procedure=names.BACKFILL_PROCEDURE,
        root=tasks.root_task_name(pipeline),
        max_window_days=MAX_BACKFILL_WINDOW.days,
        estimate=names.ESTIMATE_PROCEDURE,
        model_json=model_json,
    )
    _drop_retired(plan, "procedure", names.RETIRED_PROCEDURES)
    plan.add_template(
        "procedure",
        "reprocess.sql.j2",
        procedure=names.REPROCESS_PROCEDURE,
        root=tasks.root_task_name(pipeline),
        steps=",".join(REPROCESS_STEPS),
        facets=", ".join(FACET_NAMES),
        estimate=names.ESTIMATE_PROCEDURE,
        model_json=model_json,
    )
    plan.add_template("grant", "grants.sql.j2", grants=grants.backfill_grants(s))


def alerts(plan: PlanBuilder, pipeline: Pipeline) -> None:
    plan.section = "alerts (orchestration/alerts.py)"
    # The ops views (schema ops_marts) some alert conditions read are views, so built here once.
    # They read the staging views and the marts, which the graph's dbt steps create: on a first
    # deploy those do not exist yet, so the graph's dbt steps run first, with the tasks' own
    # arguments (idempotent merges: on a redeploy, one more incremental pass). A project the
    # pinned dbt cannot compile or build stops the deploy here, before the graph is resumed.
    dbt_steps = [step for step in pipeline.ordered_steps() if isinstance(step, DbtStep)]
    for step in [*dbt_steps, OPS_VIEWS]:
        plan.add(
            "dbt_project",
            tasks.step_body(step),
            note=f"dbt selector {step.selector}"
            + (": the ops views and the unit-prices seed" if step is OPS_VIEWS else ""),
        )
    plan.add_template("alert", "alerts.sql.j2", alerts=notifications.alert_specs(pipeline))


def design_search(plan: PlanBuilder, s: DeploySettings) -> None:
    """The Cortex Search Service over marts.mart_design_search (orchestration/deploy/
    search_service.py), after the dbt steps above built the mart, owned by the transformer that
    owns the mart."""
    plan.section = "design search service (Cortex Search over marts.mart_design_search)"
    plan.add("use_role", f"use role {s.transformer_role}")
    plan.add_template(
        "search_service", "search_service.sql.j2", service=search_service.search_service(s)
    )
    plan.add_template("grant", "grants.sql.j2", grants=search_service.reader_grants(s))
    # back to the role the resume section runs as (the tasks' and alerts' owner)
    plan.add("use_role", f"use role {s.orchestrator_role}")


def resume(
    plan: PlanBuilder, s: DeploySettings, pipeline: Pipeline, standalone: tuple[TaskSpec, ...]
) -> None:
    plan.section = "resume"
    statements = [
        f"select system$task_dependents_enable('{s.database}.{tasks.root_task_name(pipeline)}')",
        *(f"alter task {t.name} resume" for t in standalone),
        *(f"alter alert {a.name} resume" for a in notifications.alert_specs(pipeline)),
    ]
    plan.add_template("task", "task_state.sql.j2", statements=statements)


def done(plan: PlanBuilder, s: DeploySettings) -> None:
    plan.section = "done"
    plan.add("use_role", f"use role {s.deploy_role}")
