-- Step attempts of one run, in the order they ran. Binds: run_id.
select
    run_id,
    step,
    attempt,
    state,
    started_at,
    ended_at,
    files_in,
    files_succeeded,
    files_failed,
    error_message
from ops.step_runs
where run_id = ?
order by started_at, attempt
