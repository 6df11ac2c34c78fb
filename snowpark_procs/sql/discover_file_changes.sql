-- Step "discover": the change set since the last successful run, as the set
-- difference between the designs directory table and the committed state.
-- Binds: run_id. Key: (run_id, relative_path), so a retried step adds nothing.
merge into raw.file_changes as target
using (
    select
        ? as run_id,
        changed.relative_path,
        changed.etag,
        changed.size,
        changed.last_modified,
        changed.md5,
        changed.change_type
    from (
        select
            listed.relative_path,
            listed.etag,
            listed.size,
            listed.last_modified,
            listed.md5,
            case
                when committed.relative_path is null then 'new' else 'updated'
            end as change_type
        from raw.designs_directory as listed
        left join raw.directory_state as committed
            on listed.relative_path = committed.relative_path  -- noqa: ST09
        where committed.relative_path is null or committed.etag <> listed.etag
        union all
        select
            committed.relative_path,
            committed.etag,
            committed.size,
            committed.last_modified,
            committed.md5,
            'deleted' as change_type
        from raw.directory_state as committed
        left join raw.designs_directory as listed
            on committed.relative_path = listed.relative_path
        where listed.relative_path is null
    ) as changed
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
