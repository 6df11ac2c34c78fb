-- Step "validate": the run's file versions checked, and how many passed every
-- rule. Binds: run_id.
select
    count(*) as files,
    count_if(not checked.is_quarantined) as valid_files
from raw.file_changes as changes
inner join intermediate.int_file_versions_checked as checked
    on
        changes.relative_path = checked.relative_path
        and changes.etag = checked.etag
where changes.run_id = ? and changes.change_type <> 'deleted'
