-- Local counterparts of Snowflake objects fakesnow lacks. Production has the
-- real objects (see the deploy plan); these keep the same names and columns.

-- DIRECTORY(@raw.designs_stage): in production raw.designs_directory is a view
-- over the stage's directory table; locally, a table that the runner refreshes
-- from the S3 listing, as auto-refresh would.
create table if not exists raw.designs_directory (
    relative_path varchar not null,
    size number(38, 0),
    last_modified timestamp_ntz,
    md5 varchar,
    etag varchar not null,
    primary key (relative_path)
);

-- The latest S3 listing of each local directory ('designs', 'thumbnails'),
-- loaded in batches before it is applied in one pass.
create table if not exists raw.directory_listing (
    directory varchar not null,
    relative_path varchar not null,
    size number(38, 0),
    last_modified timestamp_ntz,
    md5 varchar,
    etag varchar not null
);

-- DIRECTORY(@raw.thumbnails_stage): the thumbnails bucket's objects, which the
-- nightly reconciliation compares with raw.thumbnails.
create or replace view raw.thumbnails_directory as
select
    relative_path,
    size,
    last_modified,
    md5,
    etag
from raw.directory_listing
where directory = 'thumbnails';

-- The root task's state (SHOW TASKS: started or suspended): the local runner
-- suspends the graph after SUSPEND_TASK_AFTER_NUM_FAILURES consecutive failed
-- runs, the scheduler then starts none, `pixelforge resume` starts it again.
-- Key: pipeline.
create table if not exists ops.graph_state (
    pipeline varchar not null,
    state varchar not null,
    reason varchar,
    changed_at timestamp_ntz not null,
    primary key (pipeline)
);

-- INFORMATION_SCHEMA.TASK_HISTORY(), shaped from the runner's step history:
-- the same column names and STATE values, one row per task attempt.
-- In TASK_HISTORY's column order, like production's view (see
-- test_local_counterparts): computed columns stand where Snowflake puts them.
create or replace view ops.task_history as
select  -- noqa: ST06
    steps.run_id || ':' || steps.step || ':' || steps.attempt as query_id,
    upper('pixelforge_' || steps.step) as name,
    'PIXELFORGE' as database_name,
    'OPS' as schema_name,
    null as query_text,
    null as condition_text,
    steps.state,
    case when steps.state = 'FAILED' then 100000 end as error_code,
    steps.error_message,
    runs.scheduled_at as scheduled_time,
    steps.started_at as query_start_time,
    null as next_scheduled_time,
    steps.ended_at as completed_time,
    'PIXELFORGE' as root_task_id,
    null as graph_version,
    runs.run_id as graph_run_group_id,
    steps.attempt as attempt_number,
    runs.config,
    case
        when runs.kind = 'scheduled' then 'SCHEDULE'
        when steps.attempt > 1 then 'AUTOMATIC RETRY'
        else 'EXECUTE_TASK'
    end as scheduled_from
from ops.step_runs as steps
inner join ops.pipeline_runs as runs on steps.run_id = runs.run_id;
