-- One path's current version's facets: each facet's extractor version and
-- status (ok, truncated, failed) with its reason (explain, the Files page).
-- Binds: path.
select
    facets.facet,
    facets.facet_version,
    facets.facet_status,
    facets.reason_code,
    facets.reason,
    facets.extracted_at
from ops_marts.fct_file_facet_statuses as facets
inner join ops_marts.dim_file_states as states
    on
        facets.relative_path = states.relative_path
        and facets.etag = states.etag
where facets.relative_path = ?
order by facets.facet
