-- Failed step attempts, newest first (pixelforge failures). Binds: limit.
select
    steps.run_id,
    steps.step,
    steps.attempt,
    steps.state,
    steps.is_final_attempt,
    steps.started_at,
    steps.completed_at,
    steps.error_message,
    runs.kind as run_kind,
    runs.state as run_state
from ops_marts.fct_step_runs as steps
left join ops_marts.fct_pipeline_runs as runs
    on steps.run_id = runs.run_id
where steps.is_failed
order by steps.started_at desc
limit ?
