-- Current file versions in quarantine whose path holds one of the searched
-- terms, with their reasons (the Files page: the search mart holds only
-- queryable files). Binds: a pattern matching a path that holds a term,
-- `.*(term|term).*` (terms are letters and digits), rows.
select
    quarantined.relative_path,
    quarantined.etag,
    listagg(quarantined.reason_code, ', ')
    within group (order by quarantined.reason_code) as reason_codes,
    listagg(quarantined.reason_text, '; ')
    within group (order by quarantined.reason_code) as reasons,
    max(quarantined.metadata_error_message) as metadata_error_message
from marts.fct_quarantined_file_versions as quarantined
inner join marts.dim_design_files_v2 as files
    on quarantined.file_version_id = files.file_version_id
where regexp_like(lower(quarantined.relative_path), ?)
group by quarantined.relative_path, quarantined.etag
order by quarantined.relative_path asc
limit ?
