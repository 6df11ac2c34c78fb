-- The selection of a backfill: every file of the directory last modified in
-- the window [start, end), whatever the pipeline did with it. Discovered by
-- discover_selected_files.sql, counted by count_selected_files.sql (the dry
-- run). Binds: window start, window end.
select
    listed.relative_path,
    listed.etag,
    listed.size,
    listed.last_modified,
    listed.md5
from raw.designs_directory as listed
where
    listed.last_modified >= cast(? as timestamp_ntz)
    and listed.last_modified < cast(? as timestamp_ntz)
