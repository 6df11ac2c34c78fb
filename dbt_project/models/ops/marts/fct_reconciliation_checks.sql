{#-
    What each nightly reconciliation counted, one row per run and check, the
    latest count of each check flagged (is_latest): `pixelforge status` shows
    the latest stale-facet counts from here (orchestration/sql/
    ops_stale_facets.sql).
-#}
with

checks as (

    select * from {{ source('ops', 'reconciliation_checks') }}

)

select
    run_id,
    check_name,
    files,
    checked_at,
    row_number() over (
        partition by check_name order by checked_at desc, run_id desc
    ) = 1 as is_latest

from checks
