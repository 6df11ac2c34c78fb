-- Finalizer: the request this run served is DONE when the run succeeded;
-- otherwise it is pending again (the next run serves it), or FAILED once its
-- attempts are spent. Binds: succeeded, max attempts, error message, run_id.
update ops.run_requests
set
    state = case
        when ? then 'DONE'
        when attempts >= ? then 'FAILED'
        else 'PENDING'
    end,
    finished_at = sysdate(),
    error_message = ?
where run_id = ?
