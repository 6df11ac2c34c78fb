-- Apply a complete designs listing the way a directory refresh does: register
-- new files, update changed ones, unregister the files that are gone.
merge into raw.designs_directory as target
using (
    select
        relative_path,
        size,
        last_modified,
        md5,
        etag
    from raw.directory_listing
    where directory = 'designs'
) as source
    on target.relative_path = source.relative_path
when matched and target.etag <> source.etag then
    update set
        size = source.size,
        last_modified = source.last_modified,
        md5 = source.md5,
        etag = source.etag
when not matched then
    insert (relative_path, size, last_modified, md5, etag)
    values (
        source.relative_path, source.size, source.last_modified, source.md5,
        source.etag
    );

delete from raw.designs_directory as target
where not exists (
    select source.relative_path
    from raw.directory_listing as source
    where
        source.directory = 'designs'
        and source.relative_path = target.relative_path
);
