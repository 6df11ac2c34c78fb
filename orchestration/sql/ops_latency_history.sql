-- Upload -> queryable percentiles per hour and per day, last 30 days (the
-- dashboard's latency chart).
select
    period_grain,
    period_start,
    loaded_files,
    p50_seconds,
    p95_seconds,
    p99_seconds,
    objective_seconds
from ops_marts.fct_latency_percentiles
where period_start >= dateadd('day', -30, sysdate())
order by period_start asc
