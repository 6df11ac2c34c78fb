-- Production path of step "render_thumbnails": Snowflake batches these rows to
-- the renderer through the external function. Binds: batch JSON of requests.
select
    item.index as request_index,
    raw.render_thumbnails(
        item.value:relative_path::varchar,
        item.value:etag::varchar,
        item.value:sha256::varchar,
        item.value:size_bytes::number
    )::varchar as render_result
from (select parse_json(?) as doc) as batch,
    lateral flatten(input => batch.doc) as item
order by request_index
