-- The selection of a re-processing: the current file versions (the committed
-- state's, still listed at that ETag: what the pipeline finished discovering)
-- whose key starts with the prefix and whose sniffed format is the format
-- (raw.file_metadata; '' selects every one). Discovered by
-- discover_selected_files.sql, counted by count_selected_files.sql (the dry
-- run). Binds: prefix, format, format.
select
    listed.relative_path,
    listed.etag,
    listed.size,
    listed.last_modified,
    listed.md5
from raw.designs_directory as listed
inner join raw.directory_state as committed
    on
        listed.relative_path = committed.relative_path
        and listed.etag = committed.etag
left join raw.file_metadata as file_metadata
    on
        listed.relative_path = file_metadata.relative_path
        and listed.etag = file_metadata.etag
where
    startswith(listed.relative_path, ?)
    and (? = '' or file_metadata.format = ?)
