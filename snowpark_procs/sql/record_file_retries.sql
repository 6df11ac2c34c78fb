-- Count one more transient failure per file version and step, bound as one
-- JSON array. Key: (relative_path, etag, step). Binds: batch JSON.
merge into raw.file_retries as target
using (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:step::varchar as step,
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
when matched then
    update set
        attempts = target.attempts + 1,
        reason_code = source.reason_code,
        error_message = source.error_message,
        run_id = source.run_id,
        failed_at = sysdate()
when not matched then insert (
    relative_path, etag, step, attempts, reason_code, error_message, run_id,
    failed_at
) values (
    source.relative_path, source.etag, source.step, 1, source.reason_code,
    source.error_message, source.run_id, sysdate()
)
