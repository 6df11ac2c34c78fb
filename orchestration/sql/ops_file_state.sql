-- Where one path is and why it is not queryable (explain). Binds: path.
select
    relative_path,
    etag,
    pipeline_stage,
    not_queryable_reason,
    latest_discovered_run_id,
    latest_run_state,
    latest_run_failed_step,
    latest_run_error_message,
    metadata_status,
    metadata_reason_code,
    metadata_error_message,
    quarantine_reason_codes,
    upload_to_queryable_seconds,
    last_modified_at,
    first_discovered_at,
    first_loaded_at
from ops_marts.dim_file_states
where relative_path = ?
