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
            directory.relative_path,
            directory.etag,
            directory.size,
            directory.last_modified,
            directory.md5,
            case
                when state.relative_path is null then 'new' else 'updated'
            end as change_type
        from raw.designs_directory as directory
        left join raw.directory_state as state
            on directory.relative_path = state.relative_path
        where state.relative_path is null or state.etag <> directory.etag
        union all
        select
            state.relative_path,
            state.etag,
            state.size,
            state.last_modified,
            state.md5,
            'deleted' as change_type
        from raw.directory_state as state
        left join raw.designs_directory as directory
            on state.relative_path = directory.relative_path
        where directory.relative_path is null
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
