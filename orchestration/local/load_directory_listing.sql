-- Append one batch of S3 listing rows. Binds: directory, batch JSON.
insert into raw.directory_listing (
    directory, relative_path, size, last_modified, md5, etag
)
select
    ? as directory,
    item.value:relative_path::varchar as relative_path,
    item.value:size::number as size,
    item.value:last_modified::timestamp_ntz as last_modified,
    item.value:md5::varchar as md5,
    item.value:etag::varchar as etag
from (select parse_json(?) as doc) as batch,
    lateral flatten(input => batch.doc) as item
