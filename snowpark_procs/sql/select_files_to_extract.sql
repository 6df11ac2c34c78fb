-- Step "extract_metadata": the run's new or updated file versions without a
-- metadata row (every one of them when reprocessing), and the versions of any
-- run waiting for a retry. Binds: run_id, reprocess (boolean).
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
    where step = 'extract_metadata'
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
)

select
    candidates.relative_path,
    candidates.etag
from candidates
left join raw.file_metadata as file_metadata
    on
        candidates.relative_path = file_metadata.relative_path
        and candidates.etag = file_metadata.etag
where file_metadata.relative_path is null or ?
order by candidates.relative_path
