-- This month's scheduled-run success and error budget.
select
    month_start,
    finished_runs,
    success_rate,
    success_objective,
    error_budget_remaining_runs
from ops_marts.fct_slo_months
order by month_start desc
limit 1
