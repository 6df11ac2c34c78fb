"""The standalone tasks beside the graph: the nightly reconciliation and the hourly
TASK_HISTORY copy, each scheduled on its own and named by the pipeline's rule."""

from __future__ import annotations

import json

from orchestration.deploy.render import render_text
from orchestration.deploy.tasks import TaskSpec, root_task_name, snowflake_cron, task_name
from orchestration.graph import Pipeline
from pixelforge_core.render_wire import thumbnail_key
from snowpark_procs.run_config import RunMode

# The TASK_HISTORY copy: hourly is well inside ACCOUNT_USAGE's 45 min latency and 365 days.
PROPOSED_HISTORY_COPY_CRON = "17 * * * *"
HISTORY_RETENTION_DAYS = 365
HISTORY_OVERLAP_HOURS = 3  # ACCOUNT_USAGE latency is up to 45 min; re-read a margin
# The request mode the nightly task queues, which names its task too.
RECONCILE: RunMode = "reconcile"


def standalone_tasks(
    pipeline: Pipeline, database: str, error_integration: str
) -> tuple[TaskSpec, ...]:
    """The reconciliation, then the history copy (the order they are suspended and resumed)."""
    return (
        reconciliation_task(pipeline, error_integration),
        history_copy_task(pipeline, database),
    )


def thumbnail_slices() -> tuple[str, ...]:
    """The thumbnails stage's refresh SUBPATHs, from the render service's key layout
    (ecs_render.storage.thumbnail_key: v1/<sha256[:2]>/...): one per two-hex-digit prefix."""
    slices = []
    for value in range(256):
        prefix = f"{value:02x}"
        key = thumbnail_key(prefix * 32, 0, 0)
        folder = key[: key.index("/", key.index("/") + 1) + 1]
        if folder.split("/")[1] != prefix:
            raise ValueError(f"thumbnail keys are no longer fanned out by sha256[:2]: {key}")
        slices.append(folder)
    return tuple(slices)


def reconciliation_task(pipeline: Pipeline, error_integration: str) -> TaskSpec:
    """Nightly: re-list both stages (S3 events lost on the way) in SUBPATH slices, then request
    a reconcile run, which compares everything set-based and repairs through the normal steps.

    A manual refresh of a whole large stage is slow and blocks the automated refreshes until it
    completes ("Manage directory tables",
    https://docs.snowflake.com/en/user-guide/data-load-dirtables-manage), hence the slices:
    the thumbnails stage by its key layout (thumbnail_slices), the designs stage by the
    top-level folders its directory table knows. That misses a brand-new top-level folder all
    of whose S3 events were lost, and files at the bucket's root: a full refresh an operator
    runs catches those (docs/runbook.md). The request is queued even while the root is
    suspended (SHOW TASKS' state, "SHOW TASKS",
    https://docs.snowflake.com/en/sql-reference/sql/show-tasks); the root is executed only when
    started, as the local scheduler does.
    """
    root = root_task_name(pipeline)
    root_schema, root_name = root.rsplit(".", 1)
    slices = json.dumps(list(thumbnail_slices()), separators=(",", ":"))
    body = "\n".join(
        [
            "execute immediate $$",
            "declare",
            "    design_folders cursor for",
            "        select distinct split_part(relative_path, '/', 1) || '/' as subpath",
            "        from directory(@raw.designs_stage)",
            "        where contains(relative_path, '/');",
            "    thumbnail_folders cursor for",
            "        select value::varchar as subpath",
            f"        from table(flatten(input => parse_json('{slices}')));",
            "    root_state varchar;",
            "begin",
            "    for folder in design_folders do",
            "        execute immediate 'alter stage raw.designs_stage refresh subpath = '''",
            "            || replace(folder.subpath, '''', '''''') || '''';",
            "    end for;",
            "    for folder in thumbnail_folders do",
            "        execute immediate 'alter stage raw.thumbnails_stage refresh subpath = '''",
            "            || folder.subpath || '''';",
            "    end for;",
            "    insert into ops.run_requests (",
            "        request_id, mode, requested_at, state, attempts",
            "    )",
            f"    select uuid_string(), '{RECONCILE}', sysdate(), 'PENDING', 0;",
            f"    show tasks like '{root_name.upper()}' in schema {root_schema};",
            '    root_state := (select "state" from table(result_scan(last_query_id())));',
            "    if (root_state = 'started') then",
            f"        execute task {root};",
            "        return 'reconciliation requested; a run of the graph serves it';",
            "    end if;",
            "    return 'reconciliation requested; the root is suspended: it runs once resumed';",
            "end;",
            "$$",
        ]
    )
    return TaskSpec(
        name=task_name(pipeline, RECONCILE),
        body=body,
        schedule=snowflake_cron(pipeline.reconciliation_cron, pipeline.time_zone),
        auto_retry_attempts=1,
        suspend_after_failures=3,
        overlap_policy="no_overlap",
        timeout_ms=pipeline.reconciliation_timeout_ms,
        error_integration=error_integration,
        comment=f"{pipeline.name}: nightly reconciliation (re-list stages, request a reconcile)",
    )


def history_copy_task(pipeline: Pipeline, database: str) -> TaskSpec:
    """Hourly: ACCOUNT_USAGE.TASK_HISTORY merged into ops.task_history_archive."""
    body = render_text(
        "task_history_copy.sql.j2",
        database_upper=database.upper(),
        overlap_hours=HISTORY_OVERLAP_HOURS,
        retention_days=HISTORY_RETENTION_DAYS,
    ).strip()
    return TaskSpec(
        name=task_name(pipeline, "archive_task_history"),
        body=body,
        schedule=snowflake_cron(PROPOSED_HISTORY_COPY_CRON, "UTC"),
        suspend_after_failures=3,
        overlap_policy="no_overlap",
        timeout_ms=15 * 60 * 1000,
        comment="copies ACCOUNT_USAGE.TASK_HISTORY into ops.task_history_archive (365 days+)",
    )
