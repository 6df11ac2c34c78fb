-- Upload -> queryable latency of each file version a run loaded. Binds: run_id.
select
    versions.relative_path,
    datediff(
        'millisecond', versions.last_modified_at, versions.first_loaded_at
    ) / 1000.0 as latency_s
from raw.file_changes as changes
inner join marts.fct_file_versions as versions
    on
        changes.relative_path = versions.relative_path
        and changes.etag = versions.etag
where changes.run_id = ? and changes.change_type <> 'deleted'
