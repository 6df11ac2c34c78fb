-- A claimed request that cannot be honoured (its window breaks the rules of
-- snowpark_procs/run_config.py) fails at once and belongs to no run.
-- Binds: error, request_id.
update ops.run_requests
set
    state = 'FAILED',
    run_id = null,
    finished_at = sysdate(),
    error_message = ?
where request_id = ?
