-- Step "render_thumbnails": the run's readable file versions still lacking a
-- successful thumbnail for some size. Binds: run_id, number of sizes.
with rendered as (
    select
        relative_path,
        etag,
        count(*) as rendered_sizes
    from raw.thumbnails
    where status = 'ok'
    group by relative_path, etag
)

select
    file_metadata.relative_path,
    file_metadata.etag,
    file_metadata.sha256,
    file_metadata.size_bytes
from raw.file_changes as file_changes
inner join raw.file_metadata as file_metadata
    on
        file_changes.relative_path = file_metadata.relative_path
        and file_changes.etag = file_metadata.etag
left join rendered
    on
        file_metadata.relative_path = rendered.relative_path
        and file_metadata.etag = rendered.etag
where
    file_changes.run_id = ?
    and file_changes.change_type <> 'deleted'
    and file_metadata.status = 'ok'
    and coalesce(rendered.rendered_sizes, 0) < ?
order by file_metadata.relative_path
