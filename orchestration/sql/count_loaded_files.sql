-- Step "load": the run's file versions now queryable in the marts, and how
-- many of them are valid (the rest are quarantined). Binds: run_id.
select
    count(*) as files,
    count_if(not versions.is_quarantined) as valid_files
from raw.file_changes as changes
inner join marts.fct_file_versions as versions
    on
        changes.relative_path = versions.relative_path
        and changes.etag = versions.etag
where changes.run_id = ? and changes.change_type <> 'deleted'
