-- Fragment: the current file versions, the committed discovery state's (what
-- the pipeline finished discovering) still listed at that ETag by the designs
-- directory. Its one definition: select_reprocess_files.sql,
-- select_stale_facet_files.sql and discover_repairs.sql read it as
-- `fragment.current_file_versions`, which read_sql puts in place as a derived
-- table (snowpark_procs/sql/__init__.py). No binds.
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
