-- The latest finished runs of the graph since it was last resumed, newest
-- first; skipped and cancelled runs do not count towards suspending it.
-- Binds: since (UTC), limit.
select state
from ops.pipeline_runs
where
    state in ('SUCCEEDED', 'FAILED')
    and coalesce(started_at, scheduled_at) > cast(? as timestamp_ntz)
order by coalesce(started_at, scheduled_at) desc, run_id desc
limit ?
