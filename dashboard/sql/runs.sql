-- Pipeline runs of the last 7 days (KPIs and the runs timeline).
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
    failed_step
from ops_marts.fct_pipeline_runs
where scheduled_at >= dateadd('day', -7, sysdate())
order by scheduled_at asc
