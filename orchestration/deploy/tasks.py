"""The production task graph, derived from orchestration/graph.py: every decision lives here
(the standalone nightly tasks are orchestration/deploy/standalone.py's).

Naming (Pipeline.task_name, `<pipeline>_<step>` in schema ops): the scheduled root is
`pixelforge_root`; it owns SCHEDULE, CONFIG and the graph-level settings, and its body consumes
the directory-table stream (so the stream never goes stale and its events stay auditable). Each
step becomes `pixelforge_<step>` AFTER its predecessors (the first steps AFTER the root); the
finalizer is `pixelforge_<finalizer>` with FINALIZE = root.

Each procedure task sets its procedure's JSON summary as its return value, which TASK_HISTORY
keeps as RETURN_VALUE: the finalizer procedure (snowpark_procs.handlers.finalize) reads the
run's outcomes and counts from there and records the run in OPS.PIPELINE_RUNS. Backfills and
the nightly reconciliation are requests in ops.run_requests that the graph's runs drain, never
EXECUTE TASK ... USING CONFIG (a second one replaces a config still queued, "EXECUTE TASK",
https://docs.snowflake.com/en/sql-reference/sql/execute-task).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from orchestration.deploy import dbt_versions
from orchestration.deploy.names import DBT_PROJECT, PROCEDURE_SCHEMA, TASK_SCHEMA
from orchestration.graph import (
    ROOT_STEP,
    DbtStep,
    ExternalFunctionStep,
    Pipeline,
    ProcedureStep,
    Step,
)
from pixelforge_core.render_budget import RENDER_BUDGET
from pixelforge_core.write_batch import EXTRACT_BATCH_ROWS

RUN_ID_SQL = "system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID')"
# The graph's CONFIG (graph_config): the bounded steps' budget, the finalizer's task names and
# heartbeat integration, read by each handler (snowpark_procs.run_config.RunConfig.from_json,
# snowpark_procs.steps.finalize.GraphSettings). A run's mode is the request its discover step
# claims.
RUN_CONFIG_SQL = "system$get_task_graph_config()"


@dataclass(frozen=True)
class TaskSpec:
    """One CREATE OR ALTER TASK, already decided; the template only lays it out."""

    name: str
    body: str
    warehouse: str | None = None  # None: serverless
    schedule: str | None = None
    after: tuple[str, ...] = ()
    finalize: str | None = None
    config_json: str | None = None
    auto_retry_attempts: int | None = None
    suspend_after_failures: int | None = None
    # OVERLAP_POLICY (roots and standalone tasks): ALLOW_OVERLAPPING_EXECUTION is deprecated
    # in its favour ("CREATE TASK", https://docs.snowflake.com/en/sql-reference/sql/create-task)
    overlap_policy: str | None = None
    timeout_ms: int | None = None
    error_integration: str | None = None
    comment: str = ""

    @property
    def is_root(self) -> bool:
        return self.schedule is not None


def task_name(pipeline: Pipeline, step_name: str) -> str:
    """A task's name in the plan: its schema and the pipeline's naming rule
    (orchestration/graph.py, Pipeline.task_name)."""
    return f"{TASK_SCHEMA}.{pipeline.task_name(step_name)}"


def root_task_name(pipeline: Pipeline) -> str:
    return task_name(pipeline, ROOT_STEP)


def snowflake_cron(expression: str, time_zone: str) -> str:
    """`USING CRON <expr> <tz>`, with `*/n` minute steps spelled out.

    Snowflake documents `/n` for alerts but not for tasks (semantics §2.1, UNCONFIRMED), so
    the minute field is expanded to an explicit list, which both accept.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron {expression!r} must have 5 fields (minute .. day-of-week)")
    step = re.fullmatch(r"\*/(\d+)", fields[0])
    if step:
        every = int(step.group(1))
        if not 1 <= every <= 59:
            raise ValueError(f"cron minute step {every} must be 1..59")
        fields[0] = ",".join(str(m) for m in range(0, 60, every))
    return f"USING CRON {' '.join(fields)} {time_zone}"


def graph_config(
    pipeline: Pipeline,
    heartbeat_integration: str | None = None,
    render_max_tasks: int = RENDER_BUDGET.max_tasks,
    extract_batch_rows: int = EXTRACT_BATCH_ROWS,
) -> dict[str, Any]:
    """The root's CONFIG: every run is incremental unless its discover step claims a request;
    the bounded steps' budget; the renderer maximum the render step counts on; the tasks whose
    success the finalizer checks (root and steps, keyed by step; a JSON object's key order is
    not kept, so ROOT_STEP names the root)."""
    config: dict[str, Any] = {
        "mode": "incremental",
        "pipeline": pipeline.name,
        "step_budget_s": pipeline.step_budget_s,
        # the renderer maximum the render step sizes its statements for (the budget's; the
        # day-zero load raises it with set_config_sql)
        "render_max_tasks": render_max_tasks,
        # the file versions an extraction batch takes (pixelforge_core/write_batch.py; the
        # day-zero load raises it with set_config_sql)
        "extract_batch_rows": extract_batch_rows,
        "tasks": {
            name: pipeline.task_history_name(name)
            for name in (ROOT_STEP, *(step.name for step in pipeline.ordered_steps()))
        },
    }
    if heartbeat_integration:
        config["heartbeat_integration"] = heartbeat_integration
    return config


def set_config_sql(
    pipeline: Pipeline,
    heartbeat_integration: str | None,
    render_max_tasks: int,
    extract_batch_rows: int = EXTRACT_BATCH_ROWS,
) -> str:
    """The ALTER TASK that gives the root the graph CONFIG with another renderer maximum and
    extraction batch (docs/runbook.md "Day zero"; tests/orchestration/test_render_fanout.py
    holds the runbook's copies equal). SET CONFIG replaces the whole object ("Use the syntax
    CREATE/ALTER TASK ... CONFIG to set, unset, or modify the configuration information in the
    root task",
    https://docs.snowflake.com/en/sql-reference/functions/system_get_task_graph_config), so it
    carries every key graph_config renders."""
    config = graph_config(pipeline, heartbeat_integration, render_max_tasks, extract_batch_rows)
    return (
        f"alter task {root_task_name(pipeline)} set config = "
        f"$${json.dumps(config, sort_keys=True)}$$;"
    )


def step_body(step: Step) -> str:
    """What a step's task runs: its procedure, or its dbt selector on the dbt project.

    DBT_VERSION on EXECUTE overrides the project object's version for the run ("EXECUTE DBT
    PROJECT", https://docs.snowflake.com/en/sql-reference/sql/execute-dbt-project; "Mar 02, 2026:
    Support for new dbt Core versions for dbt Projects on Snowflake"): the task runs the pinned
    dbt even if the object's version was changed by hand.
    """
    if isinstance(step, DbtStep):
        return (
            f"execute dbt project {DBT_PROJECT} args = '{step.command_line('prod')}' "
            f"dbt_version = '{dbt_versions.PINNED}'"
        )
    return f"call {PROCEDURE_SCHEMA}.{step.handler}({RUN_ID_SQL}, {RUN_CONFIG_SQL})"


def returning_summary(call: str) -> str:
    """A procedure task's body: the CALL, its result captured (CALL ... INTO, "CALL",
    https://docs.snowflake.com/en/sql-reference/sql/call) and set as the task's return value
    with SYSTEM$SET_RETURN_VALUE, which TASK_HISTORY shows as RETURN_VALUE: a CALL's result is
    not the task's return value by itself ("SYSTEM$SET_RETURN_VALUE",
    https://docs.snowflake.com/en/sql-reference/functions/system_set_return_value; "Create a
    sequence of tasks with a task graph", https://docs.snowflake.com/en/user-guide/tasks-graphs).
    The handlers keep their summaries under its 10 kB limit."""
    if not call.startswith("call ") or call.rstrip().endswith(";"):
        raise ValueError(f"not a single CALL statement: {call!r}")
    return "\n".join(
        [
            "execute immediate $$",
            "declare",
            "    summary varchar;",
            "begin",
            f"    {call} into :summary;",
            "    call system$set_return_value(:summary);",
            "    return summary;",
            "end;",
            "$$",
        ]
    )


def procedure_task_body(step: Step) -> str:
    """What a step's task runs; a procedure's summary becomes the task's return value."""
    body = step_body(step)
    return body if isinstance(step, DbtStep) else returning_summary(body)


def step_warehouse(step: Step, warehouse: str) -> str | None:
    # dbt cannot run serverless (semantics §6.4); the graph says which steps want a warehouse.
    if isinstance(step, DbtStep) or not step.serverless:
        return warehouse
    return None


def root_body() -> str:
    """Consume the stream: record the directory events this run starts from (append-only log)."""
    return "\n".join(
        [
            "insert into ops.directory_events (",
            "    relative_path, etag, size, action, is_update, run_id, observed_at",
            ")",
            "select",
            "    relative_path,",
            "    etag,",
            "    size,",
            "    metadata$action as action,",
            "    metadata$isupdate as is_update,",
            f"    {RUN_ID_SQL} as run_id,",
            "    sysdate() as observed_at",
            "from raw.designs_stream",
        ]
    )


def incremental_tasks(
    pipeline: Pipeline, warehouse: str, error_integration: str, heartbeat_integration: str
) -> tuple[TaskSpec, ...]:
    """Root, steps in dependency order, then the finalizer."""
    root = root_task_name(pipeline)
    specs = [
        TaskSpec(
            name=root,
            body=root_body(),
            schedule=snowflake_cron(pipeline.schedule_cron, pipeline.time_zone),
            config_json=json.dumps(graph_config(pipeline, heartbeat_integration), sort_keys=True),
            # RetryPolicy counts attempts; Snowflake counts retries after the first attempt.
            auto_retry_attempts=max(pipeline.retry.max_attempts - 1, 0),
            suspend_after_failures=pipeline.suspend_after_failures,
            overlap_policy=pipeline.overlap_policy,
            timeout_ms=pipeline.step_timeout_ms,
            error_integration=error_integration,
            comment=f"{pipeline.name}: scheduled root; consumes raw.designs_stream",
        )
    ]
    specs.extend(
        TaskSpec(
            name=task_name(pipeline, step.name),
            body=procedure_task_body(step),
            warehouse=step_warehouse(step, warehouse),
            after=tuple(task_name(pipeline, p) for p in step.after) or (root,),
            timeout_ms=pipeline.step_timeout_ms,
            comment=f"{pipeline.name}: step {step.name} ({_kind(step)})",
        )
        for step in pipeline.ordered_steps()
    )
    final = pipeline.finalizer
    specs.append(
        TaskSpec(
            name=task_name(pipeline, final.name),
            # the finalize procedure: outcomes from TASK_HISTORY, OPS.PIPELINE_RUNS, the
            # discovery state after a success, the run request, the heartbeat
            body=procedure_task_body(final),
            warehouse=step_warehouse(final, warehouse),
            finalize=root,
            timeout_ms=pipeline.step_timeout_ms,
            comment=f"{pipeline.name}: finalizer (runs after success or failure)",
        )
    )
    return tuple(specs)


def _kind(step: Step) -> str:
    if isinstance(step, DbtStep):
        return f"dbt selector {step.selector}"
    if isinstance(step, ExternalFunctionStep):
        return "procedure calling the render external function"
    assert isinstance(step, ProcedureStep)
    return "procedure"


def procedure_handlers(pipeline: Pipeline) -> tuple[str, ...]:
    """Handlers the graph calls, each a procedure raw.<handler>(run_id varchar, config_json
    varchar)."""
    steps = [*pipeline.ordered_steps(), pipeline.finalizer]
    return tuple(
        dict.fromkeys(
            s.handler for s in steps if isinstance(s, ProcedureStep | ExternalFunctionStep)
        )
    )
