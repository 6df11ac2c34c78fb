-- Step "load": the run's file versions now queryable in the marts, and how
-- many of them are valid (the rest are quarantined). Binds: run_id.
select
    count(*) as files,
    count_if(not file_versions.is_quarantined) as valid_files
from raw.file_changes as file_changes
inner join marts.fct_file_versions as file_versions
    on
        file_changes.relative_path = file_versions.relative_path
        and file_changes.etag = file_versions.etag
where file_changes.run_id = ? and file_changes.change_type <> 'deleted'
