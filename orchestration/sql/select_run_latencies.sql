-- Upload -> queryable latency of each file version a run loaded. Binds: run_id.
select
    file_versions.relative_path,
    file_versions.upload_to_queryable_seconds as latency_s
from raw.file_changes as file_changes
inner join marts.fct_file_versions as file_versions
    on
        file_changes.relative_path = file_versions.relative_path
        and file_changes.etag = file_versions.etag
where file_changes.run_id = ? and file_changes.change_type <> 'deleted'
