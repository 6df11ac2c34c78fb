-- Step "extract_metadata": the run's new or updated file versions that have no
-- metadata row yet. Binds: run_id.
select
    changes.relative_path,
    changes.etag,
    changes.size
from raw.file_changes as changes
left join raw.file_metadata as metadata
    on
        changes.relative_path = metadata.relative_path
        and changes.etag = metadata.etag
where
    changes.run_id = ?
    and changes.change_type <> 'deleted'
    and metadata.relative_path is null
order by changes.relative_path
