-- Queue a backfill, reconciliation or re-processing request (ops.run_requests);
-- the graph's discover step claims the oldest pending one. Binds: request_id,
-- mode, window start, window end (UTC; null unless a backfill), steps
-- (comma-separated), key prefix, format (null unless a re-processing), facet
-- (null unless a facet re-processing).
insert into ops.run_requests (
    request_id, mode, window_start, window_end, redo_steps, path_prefix,
    format_filter, redo_facet, requested_at, state, attempts
)
select
    ? as request_id,
    ? as mode,
    cast(? as timestamp_ntz) as window_start,
    cast(? as timestamp_ntz) as window_end,
    cast(? as varchar) as redo_steps,
    cast(? as varchar) as path_prefix,
    cast(? as varchar) as format_filter,
    cast(? as varchar) as redo_facet,
    sysdate() as requested_at,
    'PENDING' as state,
    0 as attempts
