-- Step "render_thumbnails": a batch of render results, bound as one JSON
-- array of (file version, size) rows. Key: (relative_path, etag, size_px).
merge into raw.thumbnails as target
using (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:size_px::number as size_px,
        item.value:status::varchar as status,
        item.value:reason_code::varchar as reason_code,
        item.value:error_message::varchar as error_message,
        item.value:thumbnail_key::varchar as thumbnail_key,
        item.value:width_px::number as width_px,
        item.value:height_px::number as height_px,
        item.value:thumbnail_bytes::number as thumbnail_bytes,
        item.value:run_id::varchar as run_id
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
        and target.size_px = source.size_px
when matched then
    update set
        status = source.status,
        reason_code = source.reason_code,
        error_message = source.error_message,
        thumbnail_key = source.thumbnail_key,
        width_px = source.width_px,
        height_px = source.height_px,
        thumbnail_bytes = source.thumbnail_bytes,
        run_id = source.run_id,
        rendered_at = sysdate()
when not matched then insert (
    relative_path, etag, size_px, status, reason_code, error_message,
    thumbnail_key, width_px, height_px, thumbnail_bytes, run_id, rendered_at
) values (
    source.relative_path, source.etag, source.size_px, source.status,
    source.reason_code, source.error_message, source.thumbnail_key,
    source.width_px, source.height_px, source.thumbnail_bytes,
    source.run_id, sysdate()
)
