-- The selection of a re-processing: the current file versions
-- (current_file_versions.sql) whose key starts with the prefix and whose
-- sniffed format is the format (raw.file_metadata; '' selects every one).
-- Discovered by discover_selected_files.sql, counted by
-- count_selected_files.sql (the dry run). Binds: prefix, format, format.
select
    listed.relative_path,
    listed.etag,
    listed.size,
    listed.last_modified,
    listed.md5
from fragment.current_file_versions as listed
left join raw.file_metadata as file_metadata
    on
        listed.relative_path = file_metadata.relative_path
        and listed.etag = file_metadata.etag
where
    startswith(listed.relative_path, ?)
    and (? = '' or file_metadata.format = ?)
