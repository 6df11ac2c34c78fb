-- Step "extract_metadata": the run's new or updated file versions that have no
-- metadata row yet. Binds: run_id.
select
    file_changes.relative_path,
    file_changes.etag,
    file_changes.size
from raw.file_changes as file_changes
left join raw.file_metadata as file_metadata
    on
        file_changes.relative_path = file_metadata.relative_path
        and file_changes.etag = file_metadata.etag
where
    file_changes.run_id = ?
    and file_changes.change_type <> 'deleted'
    and file_metadata.relative_path is null
order by file_changes.relative_path
