"""The ordered, idempotent Snowflake deploy plan, rendered from the pipeline's one definition.

Sources read, never restated: orchestration/graph.py (tasks), snowpark_procs/snowflake.yml
(procedures and UDFs), snowpark_procs/sql/schema.sql (raw and ops tables), requirements/lock.txt
(package pins), pixelforge_core/render_budget.py (MAX_BATCH_ROWS).

Idempotence: CREATE ... IF NOT EXISTS for stateful objects (database, schemas, tables, stage,
stream, integrations, warehouse, roles), followed by ALTER ... SET where settings may change;
CREATE OR REPLACE ... COPY GRANTS for code (procedures, UDFs, the external function, views);
CREATE OR ALTER for tasks and alerts. The graph roots are suspended before any task changes
and resumed at the end (unless PIXELFORGE_DEPLOY_RESUME=false).

This module orders the sections (orchestration/deploy/sections.py); who may do what is
grants.py, the task graph tasks.py, the ALERTs notifications.py, object names names.py.
"""

from __future__ import annotations

import re

from orchestration.deploy import names, sections, standalone, tasks
from orchestration.deploy.procedures import ProcedureSpec, load_functions, load_procedures
from orchestration.deploy.settings import DeploySettings
from orchestration.deploy.statements import PlanBuilder, PlanStatement
from orchestration.graph import INCREMENTAL, Pipeline
from pixelforge_core.render_budget import RENDER_BUDGET, RenderBudget

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


def render_plan(
    target_settings: DeploySettings,
    pipeline: Pipeline = INCREMENTAL,
    procedures: tuple[ProcedureSpec, ...] | None = None,
    budget: RenderBudget = RENDER_BUDGET,
) -> list[PlanStatement]:
    """Every statement of the deploy, in order; see the module docstring for idempotence."""
    s = target_settings
    graph = tasks.incremental_tasks(
        pipeline, s.warehouse, names.ALERTS_INTEGRATION, names.HEARTBEAT_INTEGRATION
    )
    nightly = standalone.standalone_tasks(pipeline, s.database, names.ALERTS_INTEGRATION)
    plan = PlanBuilder()
    if s.account_guardrails:
        sections.account_guardrails(plan)
    sections.database(plan, s)
    sections.tables(plan)
    sections.warehouse(plan, s)
    sections.integrations(plan, s)
    sections.artifact_stage(plan, s)
    sections.roles_and_grants(plan, s)
    if s.service_network_policy:
        sections.network_policy(plan, s)
    sections.suspend_tasks(plan, tuple(t for t in (*graph, *nightly) if t.is_root))
    sections.designs_stage(plan, s)
    sections.procedures(
        plan, s, load_procedures() if procedures is None else procedures, load_functions()
    )
    sections.external_function(plan, s, budget)
    sections.dbt_project(plan, s)
    sections.task_graphs(plan, s, pipeline, graph, nightly)
    sections.backfill(plan, s, pipeline)
    sections.alerts(plan, pipeline)
    sections.design_search(plan, s)
    if s.resume_tasks:
        sections.resume(plan, s, pipeline, nightly)
    sections.done(plan, s)
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
