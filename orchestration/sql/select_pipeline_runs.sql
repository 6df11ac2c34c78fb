-- Runs, newest first. Binds: limit.
select
    run_id,
    kind,
    scheduled_at,
    started_at,
    ended_at,
    state,
    files_discovered,
    files_succeeded,
    files_failed,
    error_message
from ops.pipeline_runs
order by scheduled_at desc, started_at desc
limit ?
