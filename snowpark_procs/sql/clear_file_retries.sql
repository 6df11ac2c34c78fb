-- Forget the retries of file versions that now have a final outcome for the
-- step. Key: (relative_path, etag, step). Binds: batch JSON.
merge into raw.file_retries as target
using (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:step::varchar as step
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
        and target.step = source.step
when matched then delete
