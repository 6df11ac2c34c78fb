-- Step "discover": claim the oldest request still to serve, or the one this
-- run already claimed (a retried discover claims nothing new). A RUNNING row
-- of another run is left over by a run whose finalizer never finished: the
-- graph never overlaps, so no other run is executing while discover runs.
-- Each claim by a new run counts an attempt. Key: request_id.
-- Binds: run_id, max attempts.
merge into ops.run_requests as target
using (
    with claim as (
        select
            ? as run_id,
            ? as max_attempts
    )

    select
        requests.request_id,
        claim.run_id as claiming_run_id
    from ops.run_requests as requests
    cross join claim
    where
        requests.run_id = claim.run_id
        or (
            requests.state in ('PENDING', 'RUNNING')
            and requests.attempts < claim.max_attempts
        )
    order by
        case when requests.run_id = claim.run_id then 0 else 1 end asc,
        requests.requested_at asc,
        requests.request_id asc
    limit 1
) as source
    on target.request_id = source.request_id
when matched then
    update set
        state = 'RUNNING',
        attempts = case
            when target.run_id = source.claiming_run_id then target.attempts
            else target.attempts + 1
        end,
        run_id = source.claiming_run_id,
        claimed_at = sysdate(),
        finished_at = null
