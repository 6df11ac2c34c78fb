-- Upload -> queryable percentiles of the latest hour and day (status).
select
    period_grain,
    period_start,
    loaded_files,
    p50_seconds,
    p95_seconds,
    p99_seconds,
    max_seconds,
    breaching_files,
    objective_seconds
from ops_marts.fct_latency_percentiles
qualify
    row_number() over (
        partition by period_grain order by period_start desc
    ) = 1
order by period_grain
