-- Step "extract_metadata": a batch of results, bound as one JSON array.
-- A row is rewritten only when a value differs, or when a backfill discovered
-- its version after it was extracted (a backfill redoes its window: README);
-- so a re-processing that finds the same values leaves the row, its run_id
-- and extracted_at, and the marts' incremental builds, as they were (the
-- backfill's versions: backfilled_versions.sql).
-- Key: (relative_path, etag). Binds: batch JSON.
merge into raw.file_metadata as target
using (
    with batch_rows as (
        select
            item.value:relative_path::varchar as relative_path,
            item.value:etag::varchar as etag,
            item.value:status::varchar as status,
            item.value:reason_code::varchar as reason_code,
            item.value:error_message::varchar as error_message,
            item.value:format::varchar as format,
            item.value:width_px::number as width_px,
            item.value:height_px::number as height_px,
            item.value:mode::varchar as mode,
            item.value:bit_depth::number as bit_depth,
            item.value:dpi_x::float as dpi_x,
            item.value:dpi_y::float as dpi_y,
            item.value:frame_count::number as frame_count,
            item.value:page_count::number as page_count,
            item.value:layer_count::number as layer_count,
            item.value:exif as exif,
            item.value:sha256::varchar as sha256,
            item.value:size_bytes::number as size_bytes,
            item.value:run_id::varchar as run_id
        from (select parse_json(?) as doc) as batch,
            lateral flatten(input => batch.doc) as item
    )

    select
        batch_rows.*,
        backfilled.redo_after
    from batch_rows
    left join fragment.backfilled_versions as backfilled
        on
            batch_rows.relative_path = backfilled.relative_path
            and batch_rows.etag = backfilled.etag
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
when matched and (
    coalesce(target.extracted_at < source.redo_after, false)
    or target.status is distinct from source.status
    or target.reason_code is distinct from source.reason_code
    or target.error_message is distinct from source.error_message
    or target.format is distinct from source.format
    or target.width_px is distinct from source.width_px
    or target.height_px is distinct from source.height_px
    or target.mode is distinct from source.mode
    or target.bit_depth is distinct from source.bit_depth
    or target.dpi_x is distinct from source.dpi_x
    or target.dpi_y is distinct from source.dpi_y
    or target.frame_count is distinct from source.frame_count
    or target.page_count is distinct from source.page_count
    or target.layer_count is distinct from source.layer_count
    or target.exif is distinct from source.exif
    or target.sha256 is distinct from source.sha256
    or target.size_bytes is distinct from source.size_bytes
) then
    update set
        status = source.status,
        reason_code = source.reason_code,
        error_message = source.error_message,
        format = source.format,
        width_px = source.width_px,
        height_px = source.height_px,
        mode = source.mode,
        bit_depth = source.bit_depth,
        dpi_x = source.dpi_x,
        dpi_y = source.dpi_y,
        frame_count = source.frame_count,
        page_count = source.page_count,
        layer_count = source.layer_count,
        exif = source.exif,
        sha256 = source.sha256,
        size_bytes = source.size_bytes,
        run_id = source.run_id,
        extracted_at = sysdate()
when not matched then insert (
    relative_path, etag, status, reason_code, error_message, format,
    width_px, height_px, mode, bit_depth, dpi_x, dpi_y, frame_count,
    page_count, layer_count, exif, sha256, size_bytes, run_id, extracted_at
) values (
    source.relative_path, source.etag, source.status, source.reason_code,
    source.error_message, source.format, source.width_px, source.height_px,
    source.mode, source.bit_depth, source.dpi_x, source.dpi_y,
    source.frame_count, source.page_count, source.layer_count, source.exif,
    source.sha256, source.size_bytes, source.run_id, sysdate()
)
