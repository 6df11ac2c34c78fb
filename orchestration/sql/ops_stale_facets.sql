-- `pixelforge status`: the stale facets the latest nightly reconciliation
-- counted (check stale_facet_<facet>: the current file versions a facet
-- covers whose stored version is older than its extractor's, or missing;
-- snowpark_procs/steps/discover.py), one row per facet.
-- `pixelforge reprocess --facet <facet>` re-processes them. No binds.
select
    files,
    checked_at,
    substr(check_name, length('stale_facet_') + 1) as facet
from ops_marts.fct_reconciliation_checks
where
    is_latest
    and startswith(check_name, 'stale_facet_')
order by facet
