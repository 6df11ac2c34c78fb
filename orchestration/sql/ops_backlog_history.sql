-- Backlog (discovered, not loaded) at the end of each run of the last 14 days
-- (the dashboard's backlog chart).
select
    snapshot_at,
    backlog_files,
    oldest_backlog_age_seconds
from ops_marts.fct_backlog_snapshots
order by snapshot_at asc
