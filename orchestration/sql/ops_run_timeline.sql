-- Each run's steps, final attempts only, for the dashboard's runs timeline
-- (last 7 days).
select
    steps.run_id,
    steps.step,
    steps.state,
    steps.attempt,
    steps.duration_seconds,
    runs.scheduled_at
from ops_marts.fct_step_runs as steps
inner join ops_marts.fct_pipeline_runs as runs
    on steps.run_id = runs.run_id
where
    steps.is_final_attempt
    and runs.scheduled_at >= dateadd('day', -7, sysdate())
order by runs.scheduled_at asc, steps.started_at asc
