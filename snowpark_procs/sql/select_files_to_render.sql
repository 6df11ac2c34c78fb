-- Step "render_thumbnails": the run's readable file versions still lacking a
-- successful thumbnail for some size (every one of them when reprocessing),
-- and the versions of any run waiting for a retry.
-- Binds: run_id, number of sizes, reprocess (boolean).
with run_files as (
    select
        relative_path,
        etag
    from raw.file_changes
    where run_id = ? and change_type <> 'deleted'
),

retrying as (
    select
        relative_path,
        etag
    from raw.file_retries
    where step = 'render_thumbnails'
),

candidates as (
    select
        relative_path,
        etag
    from run_files
    union
    select
        relative_path,
        etag
    from retrying
),

rendered as (
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
from candidates
inner join raw.file_metadata as file_metadata
    on
        candidates.relative_path = file_metadata.relative_path
        and candidates.etag = file_metadata.etag
left join rendered
    on
        file_metadata.relative_path = rendered.relative_path
        and file_metadata.etag = rendered.etag
where
    file_metadata.status = 'ok'
    and (coalesce(rendered.rendered_sizes, 0) < ? or ?)
order by file_metadata.relative_path
