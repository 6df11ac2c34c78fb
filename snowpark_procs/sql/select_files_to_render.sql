-- Step "render_thumbnails": the run's readable file versions still lacking a
-- successful thumbnail for some size. Binds: run_id, number of sizes.
select
    metadata.relative_path,
    metadata.etag,
    metadata.sha256,
    metadata.size_bytes
from raw.file_changes as changes
inner join raw.file_metadata as metadata
    on
        changes.relative_path = metadata.relative_path
        and changes.etag = metadata.etag
left join (
    select
        relative_path,
        etag,
        count(*) as rendered_sizes
    from raw.thumbnails
    where status = 'ok'
    group by relative_path, etag
) as rendered
    on
        metadata.relative_path = rendered.relative_path
        and metadata.etag = rendered.etag
where
    changes.run_id = ?
    and changes.change_type <> 'deleted'
    and metadata.status = 'ok'
    and coalesce(rendered.rendered_sizes, 0) < ?
order by metadata.relative_path
