-- Step "discover", before claiming: requests left RUNNING by runs that ended
-- without finishing them, with no attempt left, fail. Binds: run_id, max
-- attempts.
update ops.run_requests
set
    state = 'FAILED',
    finished_at = sysdate(),
    error_message = 'its runs ended without finishing it, '
    || attempts || ' attempts'
where state = 'RUNNING' and run_id <> ? and attempts >= ?
