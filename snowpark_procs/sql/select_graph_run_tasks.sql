-- Finalizer (production): every attempt of this graph run's tasks, from
-- INFORMATION_SCHEMA.TASK_HISTORY (the last 7 days, newest first; a task run
-- is one row per attempt, a graph run one GRAPH_RUN_GROUP_ID). The root is
-- this run's (CURRENT_ROOT_TASK_UUID); the finalizer's own row is not done
-- yet. Binds: run_id (the GRAPH_RUN_GROUP_ID).
select
    name,
    state,
    return_value,
    error_message,
    scheduled_from,
    attempt_number,
    convert_timezone('UTC', scheduled_time)::timestamp_ntz as scheduled_time,
    convert_timezone('UTC', query_start_time)::timestamp_ntz
        as query_start_time
from
    table(information_schema.task_history(
        scheduled_time_range_start => dateadd('day', -1, current_timestamp()),
        root_task_id => system$task_runtime_info('CURRENT_ROOT_TASK_UUID'),
        result_limit => 10000
    ))
where graph_run_group_id = ?
