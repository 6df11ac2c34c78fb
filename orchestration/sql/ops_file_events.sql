-- One path's lineage across runs, oldest first (explain). Binds: path.
select
    event_at,
    event_name,
    detail,
    reason_code,
    etag,
    run_id,
    run_kind,
    run_state,
    run_failed_step
from ops_marts.fct_file_events
where relative_path = ?
order by event_at asc, event_name asc
