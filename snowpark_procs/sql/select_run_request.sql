-- The request a run claimed, if any (the latest claim, should a retried run
-- have claimed twice). Binds: run_id.
select
    request_id,
    mode,
    window_start,
    window_end,
    redo_steps,
    path_prefix,
    format_filter,
    redo_facet,
    state,
    attempts
from ops.run_requests
where run_id = ?
order by claimed_at desc
limit 1
