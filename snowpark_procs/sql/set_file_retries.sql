-- Step "extract_metadata": set the retry rows of file versions to a given
-- state, bound as one JSON array. Extraction charges an attempt before it
-- parses (record_file_retries); an outcome then settles the charged row: a
-- transient failure keeps the attempt (attempts as charged, its own reason), a
-- file given back uncounted (an outage, or never started when the watchdog
-- stopped the step) gets its row as it was before the charge (attempts 0: it
-- had none). Key: (relative_path, etag, step). Binds: batch JSON.
merge into raw.file_retries as target
using (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:step::varchar as step,
        item.value:attempts::number as attempts,
        item.value:reason_code::varchar as reason_code,
        item.value:error_message::varchar as error_message,
        item.value:run_id::varchar as run_id
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
        and target.step = source.step
when matched and source.attempts <= 0 then delete
when matched then
    update set
        attempts = source.attempts,
        reason_code = source.reason_code,
        error_message = source.error_message,
        run_id = source.run_id,
        failed_at = sysdate()
when not matched and source.attempts > 0 then insert (
    relative_path, etag, step, attempts, reason_code, error_message, run_id,
    failed_at
) values (
    source.relative_path, source.etag, source.step, source.attempts,
    source.reason_code, source.error_message, source.run_id, sysdate()
)
