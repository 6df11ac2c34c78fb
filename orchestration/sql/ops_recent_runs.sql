-- Pipeline runs, newest first (pixelforge status, the dashboard's last run).
-- Binds: limit.
select
    run_id,
    kind,
    state,
    scheduled_at,
    started_at,
    ended_at,
    duration_seconds,
    files_discovered,
    files_queryable,
    files_quarantined,
    failed_step,
    error_message
from ops_marts.fct_pipeline_runs
order by scheduled_at desc, started_at desc
limit ?
