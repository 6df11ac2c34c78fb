-- Upsert one attempt of one step. Key: (run_id, step, attempt). Binds: JSON.
merge into ops.step_runs as target
using (
    select
        record.doc:run_id::varchar as run_id,
        record.doc:step::varchar as step,
        record.doc:attempt::number as attempt,
        record.doc:state::varchar as state,
        record.doc:started_at::timestamp_ntz as started_at,
        record.doc:ended_at::timestamp_ntz as ended_at,
        record.doc:files_in::number as files_in,
        record.doc:files_succeeded::number as files_succeeded,
        record.doc:files_failed::number as files_failed,
        record.doc:error_message::varchar as error_message
    from (select parse_json(?) as doc) as record
) as source
    on
        target.run_id = source.run_id
        and target.step = source.step
        and target.attempt = source.attempt
when matched then
    update set
        state = source.state,
        ended_at = source.ended_at,
        files_in = source.files_in,
        files_succeeded = source.files_succeeded,
        files_failed = source.files_failed,
        error_message = source.error_message
when not matched then insert (
    run_id, step, attempt, state, started_at, ended_at, files_in,
    files_succeeded, files_failed, error_message
) values (
    source.run_id, source.step, source.attempt, source.state,
    source.started_at, source.ended_at, source.files_in,
    source.files_succeeded, source.files_failed, source.error_message
)
