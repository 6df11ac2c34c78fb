-- Reconciliation: current file versions (current_file_versions.sql) the
-- pipeline has not finished (no metadata row, or readable without a
-- successful thumbnail for every size), added to the run's change set as
-- repairs. Key: (run_id, relative_path).
-- Binds: number of sizes, run_id.
merge into raw.file_changes as target
using (
    with rendered as (
        select
            relative_path,
            etag,
            count(*) as rendered_sizes
        from raw.thumbnails
        where status = 'ok'
        group by relative_path, etag
    ),

    unfinished as (
        select committed_files.*
        from fragment.current_file_versions as committed_files
        left join raw.file_metadata as file_metadata
            on
                committed_files.relative_path = file_metadata.relative_path
                and committed_files.etag = file_metadata.etag
        left join rendered
            on
                committed_files.relative_path = rendered.relative_path
                and committed_files.etag = rendered.etag
        where
            file_metadata.relative_path is null
            or (
                file_metadata.status = 'ok'
                and coalesce(rendered.rendered_sizes, 0) < ?
            )
    )

    select
        ? as run_id,
        unfinished.relative_path,
        unfinished.etag,
        unfinished.size,
        unfinished.last_modified,
        unfinished.md5,
        'repair' as change_type
    from unfinished
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
