{#-
    One row per task attempt of the run history. A task is named
    <PIPELINE>_<STEP> (orchestration/graph.py Pipeline.task_name; the var
    task_name_prefix is its <PIPELINE>_), so the step token is the name
    without that prefix: discover, ..., load, finalize, and root in
    production.
-#}
with

source as (

    select * from {{ source('ops', 'task_history') }}

),

renamed as (

    select
        ----------  ids
        graph_run_group_id as run_id,
        query_id,

        ---------- strings
        state,
        error_message,
        scheduled_from,

        ---------- numerics
        cast(attempt_number as number(38, 0)) as attempt,
        cast(error_code as number(38, 0)) as error_code,

        ---------- timestamps
        cast(scheduled_time as timestamp_ntz) as scheduled_at,
        cast(query_start_time as timestamp_ntz) as started_at,
        cast(completed_time as timestamp_ntz) as completed_at,

        ---------- derived
        lower(name) as task_name,
        lower(
            regexp_replace(name, '^{{ var('task_name_prefix') }}', '')
        ) as step

    from source

)

select * from renamed
