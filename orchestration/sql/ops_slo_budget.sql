-- This month's scheduled-run success against the objective (pixelforge status,
-- the dashboard's headline).
select
    month_start,
    finished_runs,
    succeeded_runs,
    failed_runs,
    skipped_runs,
    success_rate,
    success_objective,
    allowed_failed_runs,
    error_budget_remaining_runs
from ops_marts.fct_slo_months
order by month_start desc
limit 1
