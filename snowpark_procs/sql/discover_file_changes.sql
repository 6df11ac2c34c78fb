-- Step "discover": the change set since the last successful run, as the set
-- difference between the designs directory table and what the pipeline knows:
-- the committed state, and what runs since the last success observed (a failed
-- run may have loaded a version into the marts before it failed, so a file
-- deleted or reverted since must still reach them).
-- Binds: run_id. Key: (run_id, relative_path), so a retried step adds nothing.
merge into raw.file_changes as target
using (
    with last_commit as (
        select
            coalesce(
                max(committed_at), cast('1970-01-01' as timestamp_ntz)
            ) as committed_at
        from raw.directory_state
    ),

    observed as (
        select
            file_changes.relative_path,
            file_changes.etag,
            file_changes.change_type
        from raw.file_changes as file_changes
        inner join last_commit
            on file_changes.discovered_at > last_commit.committed_at
        qualify row_number() over (
            partition by file_changes.relative_path
            order by file_changes.discovered_at desc
        ) = 1
    ),

    known as (
        select
            coalesce(
                committed.relative_path, observed.relative_path
            ) as relative_path,
            committed.etag as committed_etag,
            committed.size as committed_size,
            committed.last_modified as committed_last_modified,
            committed.md5 as committed_md5,
            observed.etag as observed_etag,
            coalesce(
                observed.change_type = 'deleted', false
            ) as observed_deleted,
            observed.relative_path is not null as is_observed
        from raw.directory_state as committed
        full outer join observed
            on committed.relative_path = observed.relative_path
    ),

    changed as (
        select
            listed.relative_path,
            listed.etag,
            listed.size,
            listed.last_modified,
            listed.md5,
            case
                when known.committed_etag is null then 'new' else 'updated'
            end as change_type
        from raw.designs_directory as listed
        left join known
            on listed.relative_path = known.relative_path
        where
            known.committed_etag is null
            or known.committed_etag <> listed.etag
            or (known.is_observed and known.observed_deleted)
            or (known.is_observed and known.observed_etag <> listed.etag)
        union all
        select
            known.relative_path,
            coalesce(known.observed_etag, known.committed_etag) as etag,
            known.committed_size as size,
            known.committed_last_modified as last_modified,
            known.committed_md5 as md5,
            'deleted' as change_type
        from known
        left join raw.designs_directory as listed
            on known.relative_path = listed.relative_path
        where
            listed.relative_path is null
            and (known.committed_etag is not null or not known.observed_deleted)
    )

    select
        ? as run_id,
        changed.relative_path,
        changed.etag,
        changed.size,
        changed.last_modified,
        changed.md5,
        changed.change_type
    from changed
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
