{#-
    An estimate of what each run cost, from the durations in the run history
    and THE unit prices (seeds/unit_prices.csv): warehouse seconds for the
    dbt steps (billed with the per-resume minimum), serverless seconds for
    the procedure steps (as X-Small equivalents with the serverless
    multiplier), render seconds for the render step (Fargate vCPU and memory),
    and the directory-table refresh per file discovered. Estimates, not bills:
    ACCOUNT_USAGE metering is the truth. Which steps run on the warehouse and
    which renders are orchestration/graph.py's (dbt_vars; no default here).
-#}
{#- dbt parse renders a var not given as none; compile fails on it -#}
{%- set warehouse_steps = var('warehouse_steps') or [] %}
{%- set render_step = var('render_step') %}
{%- set warehouse_step_list = "'" ~ warehouse_steps | join("', '") ~ "'" %}
with

step_runs as (

    select * from {{ ref('fct_step_runs') }}

),

pipeline_runs as (

    select * from {{ ref('fct_pipeline_runs') }}

),

unit_prices as (

    select * from {{ ref('unit_prices') }}

),

prices as (

    select
        max(
            case when price_code = 'snowflake_credit_usd' then amount end
        ) as credit_usd,
        max(
            case when price_code = 'warehouse_credits_per_hour' then amount end
        ) as warehouse_credits_per_hour,
        max(
            case when price_code = 'warehouse_minimum_seconds' then amount end
        ) as warehouse_minimum_seconds,
        max(
            case when price_code = 'serverless_task_multiplier' then amount end
        ) as serverless_multiplier,
        max(
            case
                when price_code = 'directory_refresh_credits_per_1000_files'
                    then amount
            end
        ) as refresh_credits_per_1000_files,
        max(
            case when price_code = 'fargate_vcpu_hour_usd' then amount end
        ) as fargate_vcpu_hour_usd,
        max(
            case when price_code = 'fargate_gb_hour_usd' then amount end
        ) as fargate_gb_hour_usd,
        max(
            case when price_code = 'render_gb_per_vcpu' then amount end
        ) as render_gb_per_vcpu

    from unit_prices

),

run_seconds as (

    select
        run_id,
        sum(
            case
                when step in ({{ warehouse_step_list }})
                    then coalesce(duration_seconds, 0)
                else 0
            end
        ) as warehouse_seconds,
        sum(
            case
                when step = '{{ render_step }}'
                    then coalesce(duration_seconds, 0)
                else 0
            end
        ) as render_seconds,
        sum(
            case
                when
                    step not in ({{ warehouse_step_list }})
                    and step != '{{ render_step }}'
                    then coalesce(duration_seconds, 0)
                else 0
            end
        ) as serverless_seconds

    from step_runs

    group by 1

),

costed as (

    select
        pipeline_runs.run_id,
        pipeline_runs.kind,
        pipeline_runs.state,
        pipeline_runs.files_discovered,
        pipeline_runs.scheduled_at,
        coalesce(run_seconds.warehouse_seconds, 0) as warehouse_seconds,
        coalesce(run_seconds.serverless_seconds, 0) as serverless_seconds,
        -- The render service works while the step waits on it: its wall time
        -- stands in for render CPU seconds (one vCPU per batch in flight).
        coalesce(run_seconds.render_seconds, 0) as render_cpu_seconds,
        case
            when coalesce(run_seconds.warehouse_seconds, 0) = 0 then 0
            else
                greatest(
                    run_seconds.warehouse_seconds,
                    prices.warehouse_minimum_seconds
                )
                / 3600 * prices.warehouse_credits_per_hour * prices.credit_usd
        end as warehouse_usd,
        coalesce(run_seconds.serverless_seconds, 0) / 3600
        * prices.warehouse_credits_per_hour
        * prices.serverless_multiplier
        * prices.credit_usd as serverless_usd,
        coalesce(run_seconds.render_seconds, 0) / 3600 * (
            prices.fargate_vcpu_hour_usd
            + prices.render_gb_per_vcpu * prices.fargate_gb_hour_usd
        ) as render_usd,
        pipeline_runs.files_discovered / 1000.0
        * prices.refresh_credits_per_1000_files
        * prices.credit_usd as directory_refresh_usd

    from pipeline_runs

    cross join prices

    left join run_seconds
        on pipeline_runs.run_id = run_seconds.run_id

),

run_costs as (

    select
        ----------  ids
        run_id,

        ---------- strings
        kind,
        state,

        ---------- numerics
        files_discovered,
        warehouse_seconds,
        serverless_seconds,
        render_cpu_seconds,
        warehouse_usd,
        serverless_usd,
        render_usd,
        directory_refresh_usd,

        ---------- timestamps
        scheduled_at,

        ---------- derived
        warehouse_usd + serverless_usd + render_usd
        + directory_refresh_usd as estimated_usd

    from costed

)

select * from run_costs
