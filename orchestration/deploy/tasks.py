"""The production task graphs, derived from orchestration/graph.py: every decision lives here.

Naming: the scheduled root is `pixelforge_root`; it owns SCHEDULE, CONFIG and the graph-level
settings, and its body consumes the directory-table stream (so the stream never goes stale and
its events stay auditable). Each step becomes `pixelforge_<step>` AFTER its predecessors (the
first steps AFTER the root); the finalizer is `pixelforge_<finalizer>` with FINALIZE = root.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from orchestration.deploy import dbt_versions
from orchestration.graph import DbtStep, ExternalFunctionStep, Pipeline, ProcedureStep, Step

TASK_SCHEMA = "ops"  # tasks of one graph share a schema, and dbt tasks the dbt project's schema
PROCEDURE_SCHEMA = "raw"
DBT_PROJECT = "ops.pixelforge_dbt"
RUN_ID_SQL = "system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID')"
# The graph's CONFIG (incremental, or a backfill window), read by each handler with
# snowpark_procs.run_config.RunConfig.from_json.
RUN_CONFIG_SQL = "system$get_task_graph_config()"

# The TASK_HISTORY copy: hourly is well inside ACCOUNT_USAGE's 45 min latency and 365 days.
PROPOSED_HISTORY_COPY_CRON = "17 * * * *"


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
    overlap: bool | None = None  # rendered as ALLOW_OVERLAPPING_EXECUTION (root only)
    timeout_ms: int | None = None
    error_integration: str | None = None
    comment: str = ""

    @property
    def is_root(self) -> bool:
        return self.schedule is not None


def task_name(step_name: str) -> str:
    return f"{TASK_SCHEMA}.pixelforge_{step_name}"


def root_task_name(pipeline: Pipeline) -> str:
    return task_name("root")


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


def graph_config(pipeline: Pipeline) -> dict[str, str]:
    """The root's default CONFIG; BACKFILL overrides it with EXECUTE TASK ... USING CONFIG."""
    return {"mode": "incremental", "pipeline": pipeline.name}


def step_body(step: Step) -> str:
    """What a step's task runs: its procedure, or its dbt selector on the dbt project.

    DBT_VERSION on EXECUTE overrides the project object's version for the run ("EXECUTE DBT
    PROJECT", https://docs.snowflake.com/en/sql-reference/sql/execute-dbt-project; "Mar 02, 2026:
    Support for new dbt Core versions for dbt Projects on Snowflake"): the task runs the pinned
    dbt even if the object's version was changed by hand.
    """
    if isinstance(step, DbtStep):
        args = " ".join(step.build_args("prod"))
        return (
            f"execute dbt project {DBT_PROJECT} args = '{args}' "
            f"dbt_version = '{dbt_versions.PINNED}'"
        )
    return f"call {PROCEDURE_SCHEMA}.{step.handler}({RUN_ID_SQL}, {RUN_CONFIG_SQL})"


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


def finalizer_body(pipeline: Pipeline, heartbeat_integration: str) -> str:
    """Commit discovery only when every task of this graph run succeeded, then send a heartbeat.

    Snowflake runs the finalizer after failures too (semantics §2.5), while the handler assumes
    a successful run (the local runner skips it otherwise), so the gate is here. Counting
    distinct SUCCEEDED task names of the run group covers automatic retries of failed tasks.
    """
    final = pipeline.finalizer
    names = ["root", *(s.name for s in pipeline.ordered_steps())]
    quoted = ", ".join(f"'PIXELFORGE_{n.upper()}'" for n in names)
    message = json.dumps({"event": "run_succeeded", "pipeline": pipeline.name})
    return "\n".join(
        [
            "execute immediate $$",
            "declare",
            "    succeeded_tasks integer default 0;",
            "begin",
            "    select count(distinct name) into :succeeded_tasks",
            "    from table(information_schema.task_history(",
            "        scheduled_time_range_start => dateadd('day', -1, current_timestamp()),",
            "        root_task_id => system$task_runtime_info('CURRENT_ROOT_TASK_UUID'),",
            "        result_limit => 10000))",
            f"    where graph_run_group_id = {RUN_ID_SQL}",
            "        and state = 'SUCCEEDED'",
            f"        and name in ({quoted});",
            f"    if (succeeded_tasks < {len(names)}) then",
            "        return 'run did not succeed: discovery state not advanced';",
            "    end if;",
            f"    call {PROCEDURE_SCHEMA}.{final.handler}({RUN_ID_SQL}, {RUN_CONFIG_SQL});",
            "    call system$send_snowflake_notification(",
            f"        snowflake.notification.application_json('{message}'),",
            f"        snowflake.notification.integration('{heartbeat_integration}'));",
            "    return 'committed';",
            "end;",
            "$$",
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
            config_json=json.dumps(graph_config(pipeline), sort_keys=True),
            # RetryPolicy counts attempts; Snowflake counts retries after the first attempt.
            auto_retry_attempts=max(pipeline.retry.max_attempts - 1, 0),
            suspend_after_failures=pipeline.suspend_after_failures,
            overlap=pipeline.allow_overlap,
            timeout_ms=pipeline.step_timeout_ms,
            error_integration=error_integration,
            comment=f"{pipeline.name}: scheduled root; consumes raw.designs_stream",
        )
    ]
    specs.extend(
        TaskSpec(
            name=task_name(step.name),
            body=step_body(step),
            warehouse=step_warehouse(step, warehouse),
            after=tuple(task_name(p) for p in step.after) or (root,),
            timeout_ms=pipeline.step_timeout_ms,
            comment=f"{pipeline.name}: step {step.name} ({_kind(step)})",
        )
        for step in pipeline.ordered_steps()
    )
    final = pipeline.finalizer
    specs.append(
        TaskSpec(
            name=task_name(final.name),
            body=finalizer_body(pipeline, heartbeat_integration),
            warehouse=step_warehouse(final, warehouse),
            finalize=root,
            timeout_ms=pipeline.step_timeout_ms,
            comment=f"{pipeline.name}: finalizer (runs after success or failure)",
        )
    )
    return tuple(specs)


def reconciliation_task(pipeline: Pipeline, error_integration: str) -> TaskSpec:
    """Nightly: re-list both stages (S3 events lost on the way), then run the graph in
    reconcile mode, which compares everything set-based and repairs through the normal steps."""
    config = json.dumps({"mode": "reconcile", "pipeline": pipeline.name}, sort_keys=True)
    body = "\n".join(
        [
            "execute immediate $$",
            "begin",
            "    alter stage raw.designs_stage refresh;",
            "    alter stage raw.thumbnails_stage refresh;",
            f"    execute task {root_task_name(pipeline)} using config = '{config}';",
            "    return 'reconciliation queued';",
            "end;",
            "$$",
        ]
    )
    return TaskSpec(
        name=task_name("reconcile"),
        body=body,
        schedule=snowflake_cron(pipeline.reconciliation_cron, pipeline.time_zone),
        auto_retry_attempts=1,
        suspend_after_failures=3,
        overlap=False,
        timeout_ms=pipeline.reconciliation_timeout_ms,
        error_integration=error_integration,
        comment=f"{pipeline.name}: nightly reconciliation (re-list stages, run in reconcile mode)",
    )


def history_copy_task(body: str) -> TaskSpec:
    return TaskSpec(
        name=task_name("archive_task_history"),
        body=body,
        schedule=snowflake_cron(PROPOSED_HISTORY_COPY_CRON, "UTC"),
        suspend_after_failures=3,
        overlap=False,
        timeout_ms=15 * 60 * 1000,
        comment="copies ACCOUNT_USAGE.TASK_HISTORY into ops.task_history_archive (365 days+)",
    )


def _kind(step: Step) -> str:
    if isinstance(step, DbtStep):
        return f"dbt selector {step.selector}"
    if isinstance(step, ExternalFunctionStep):
        return "procedure calling the render external function"
    assert isinstance(step, ProcedureStep)
    return "procedure"


def procedure_handlers(pipeline: Pipeline) -> tuple[str, ...]:
    """Handlers the graph calls, each a procedure raw.<handler>(run_id varchar)."""
    steps = [*pipeline.ordered_steps(), pipeline.finalizer]
    return tuple(
        dict.fromkeys(
            s.handler for s in steps if isinstance(s, ProcedureStep | ExternalFunctionStep)
        )
    )
