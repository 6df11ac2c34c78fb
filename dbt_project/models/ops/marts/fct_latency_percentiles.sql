{#-
    Upload -> queryable latency of loaded file versions (quarantined ones
    included: they are queryable in the quarantine mart), p50/p95/p99 per
    hour and per day of first load. Key: (period_grain, period_start).
    `breaching_files` counts versions over the objective (var
    latency_objective_seconds: orchestration/graph.py's dbt_vars).
-#}
{%- set objective_seconds = var('latency_objective_seconds') %}
with

file_versions as (

    select * from {{ ref('fct_file_versions') }}

),

loaded_versions as (

    select
        'hour' as period_grain,
        date_trunc('hour', first_loaded_at) as period_start,
        upload_to_queryable_seconds

    from file_versions

    where upload_to_queryable_seconds is not null

    union all

    select
        'day' as period_grain,
        date_trunc('day', first_loaded_at) as period_start,
        upload_to_queryable_seconds

    from file_versions

    where upload_to_queryable_seconds is not null

),

latency_percentiles as (

    select
        period_grain,
        period_start,
        count(*) as loaded_files,
        percentile_cont(0.50) within group (
            order by upload_to_queryable_seconds
        ) as p50_seconds,
        percentile_cont(0.95) within group (
            order by upload_to_queryable_seconds
        ) as p95_seconds,
        percentile_cont(0.99) within group (
            order by upload_to_queryable_seconds
        ) as p99_seconds,
        max(upload_to_queryable_seconds) as max_seconds,
        count_if(
            upload_to_queryable_seconds
            > {{ objective_seconds }}
        ) as breaching_files,
        {{ objective_seconds }} as objective_seconds

    from loaded_versions

    group by 1, 2

)

select * from latency_percentiles
