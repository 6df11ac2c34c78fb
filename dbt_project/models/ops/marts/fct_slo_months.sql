{#-
    Scheduled-run success per calendar month (UTC) against the objective
    (var success_objective: orchestration/graph.py's dbt_vars). Finished runs
    count (SUCCEEDED, FAILED, CANCELLED); a run SKIPPED because the previous
    one was still executing is counted apart. The error budget is the number
    of failed runs the objective allows this month so far.
-#}
{%- set objective = var('success_objective') %}
with

pipeline_runs as (

    select * from {{ ref('fct_pipeline_runs') }}

),

scheduled_runs as (

    select
        state,
        date_trunc('month', scheduled_at) as month_start

    from pipeline_runs

    where is_scheduled

),

month_counts as (

    select
        month_start,
        count_if(state in ('SUCCEEDED', 'FAILED', 'CANCELLED'))
            as finished_runs,
        count_if(state = 'SUCCEEDED') as succeeded_runs,
        count_if(state in ('FAILED', 'CANCELLED')) as failed_runs,
        count_if(state = 'SKIPPED') as skipped_runs

    from scheduled_runs

    group by 1

),

slo_months as (

    select
        ----------  numerics
        finished_runs,
        succeeded_runs,
        failed_runs,
        skipped_runs,
        {{ objective }} as success_objective,
        div0(succeeded_runs, finished_runs) as success_rate,
        floor(finished_runs * (1 - {{ objective }})) as allowed_failed_runs,
        floor(finished_runs * (1 - {{ objective }}))
        - failed_runs as error_budget_remaining_runs,

        ---------- booleans
        div0(succeeded_runs, finished_runs)
        >= {{ objective }} as is_meeting_objective,

        ---------- timestamps
        month_start

    from month_counts

)

select * from slo_months
