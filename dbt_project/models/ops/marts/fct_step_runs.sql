{#-
    One row per task attempt (run_id, step, attempt), with its duration and
    whether it is the step's final attempt in the run (the one that counts).
-#}
with

task_runs as (

    select * from {{ ref('stg_ops__task_runs') }}

),

step_runs as (

    select
        ----------  ids
        run_id,
        query_id,

        ---------- strings
        step,
        task_name,
        state,
        error_message,
        scheduled_from,

        ---------- numerics
        attempt,
        error_code,

        ---------- timestamps
        scheduled_at,
        started_at,
        completed_at,

        ---------- derived
        datediff('millisecond', started_at, completed_at)
        / 1000.0 as duration_seconds,
        state in (
            'FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED'
        ) as is_failed,
        row_number() over (
            partition by run_id, step
            order by attempt desc
        ) = 1 as is_final_attempt

    from task_runs

)

select * from step_runs
