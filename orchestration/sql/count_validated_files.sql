-- Step "validate": the run's file versions checked, and how many passed every
-- rule. Binds: run_id.
select
    count(*) as files,
    count_if(not checked.is_quarantined) as valid_files
from raw.file_changes as file_changes
inner join intermediate.int_file_versions_checked as checked
    on
        file_changes.relative_path = checked.relative_path
        and file_changes.etag = checked.etag
where file_changes.run_id = ? and file_changes.change_type <> 'deleted'
