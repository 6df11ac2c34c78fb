-- Upsert one run of the pipeline: the local runner records it as it starts,
-- the finalizer its outcome (kind and config follow the request it served).
-- Key: run_id. Binds: the record as JSON.
merge into ops.pipeline_runs as target
using (
    select
        record.doc:run_id::varchar as run_id,
        record.doc:kind::varchar as kind,
        record.doc:scheduled_at::timestamp_ntz as scheduled_at,
        record.doc:started_at::timestamp_ntz as started_at,
        record.doc:ended_at::timestamp_ntz as ended_at,
        record.doc:state::varchar as state,
        record.doc:files_discovered::number as files_discovered,
        record.doc:files_succeeded::number as files_succeeded,
        record.doc:files_failed::number as files_failed,
        record.doc:error_message::varchar as error_message,
        record.doc:config as config,
        record.doc:request_id::varchar as request_id
    from (select parse_json(?) as doc) as record
) as source
    on target.run_id = source.run_id
when matched then
    update set
        kind = source.kind,
        started_at = coalesce(target.started_at, source.started_at),
        ended_at = source.ended_at,
        state = source.state,
        files_discovered = source.files_discovered,
        files_succeeded = source.files_succeeded,
        files_failed = source.files_failed,
        error_message = source.error_message,
        config = source.config,
        request_id = source.request_id
when not matched then insert (
    run_id, kind, scheduled_at, started_at, ended_at, state, files_discovered,
    files_succeeded, files_failed, error_message, config, request_id
) values (
    source.run_id, source.kind, source.scheduled_at, source.started_at,
    source.ended_at, source.state, source.files_discovered,
    source.files_succeeded, source.files_failed, source.error_message,
    source.config, source.request_id
)
