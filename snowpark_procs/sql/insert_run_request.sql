-- Queue a backfill or reconciliation request (ops.run_requests); the graph's
-- discover step claims the oldest pending one. Binds: request_id, mode,
-- window start, window end (UTC; null for a reconciliation).
insert into ops.run_requests (
    request_id, mode, window_start, window_end, requested_at, state, attempts
)
select
    ? as request_id,
    ? as mode,
    cast(? as timestamp_ntz) as window_start,
    cast(? as timestamp_ntz) as window_end,
    sysdate() as requested_at,
    'PENDING' as state,
    0 as attempts
