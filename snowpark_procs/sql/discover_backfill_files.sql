-- Step "discover" of a backfill: every file of the directory last modified in
-- the window [start, end). Key: (run_id, relative_path).
-- Binds: run_id, window start, window end.
merge into raw.file_changes as target
using (
    select
        ? as run_id,
        listed.relative_path,
        listed.etag,
        listed.size,
        listed.last_modified,
        listed.md5,
        'backfill' as change_type
    from raw.designs_directory as listed
    where
        listed.last_modified >= cast(? as timestamp_ntz)
        and listed.last_modified < cast(? as timestamp_ntz)
) as source
    on
        target.run_id = source.run_id
        and target.relative_path = source.relative_path
when not matched then insert (
    run_id, relative_path, etag, size, last_modified, md5, change_type,
    discovered_at
) values (
    source.run_id, source.relative_path, source.etag, source.size,
    source.last_modified, source.md5, source.change_type, sysdate()
)
