-- Steps "extract_metadata" and "render_thumbnails": a batch of facet rows
-- (pixelforge_core/facets.py: FacetResult.row), bound as one JSON array. A
-- row is rewritten only when its extractor version, status or payload
-- differs, so re-processing a facet whose extractor did not change leaves
-- the row, its run_id and extracted_at, and the marts' incremental builds,
-- as they were.
-- Key: (relative_path, etag, facet). Binds: batch JSON.
merge into raw.file_facets as target
using (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:facet::varchar as facet,
        item.value:facet_version::number as facet_version,
        item.value:status::varchar as status,
        item.value:reason_code::varchar as reason_code,
        item.value:error_message::varchar as error_message,
        item.value:payload as payload,
        item.value:run_id::varchar as run_id
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
        and target.facet = source.facet
when matched and (
    target.facet_version is distinct from source.facet_version
    or target.status is distinct from source.status
    or target.reason_code is distinct from source.reason_code
    or target.error_message is distinct from source.error_message
    or target.payload is distinct from source.payload
) then
    update set
        facet_version = source.facet_version,
        status = source.status,
        reason_code = source.reason_code,
        error_message = source.error_message,
        payload = source.payload,
        run_id = source.run_id,
        extracted_at = sysdate()
when not matched then insert (
    relative_path, etag, facet, facet_version, status, reason_code,
    error_message, payload, run_id, extracted_at
) values (
    source.relative_path, source.etag, source.facet, source.facet_version,
    source.status, source.reason_code, source.error_message, source.payload,
    source.run_id, sysdate()
)
