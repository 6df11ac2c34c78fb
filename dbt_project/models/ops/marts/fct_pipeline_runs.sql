{#-
    One row per pipeline run (graph run), newest data from both histories:
    the task attempts (TASK_HISTORY shape, local and production) and the local
    runner's own run records (which also hold runs that never reached a task,
    such as SKIPPED ones). Where the runner recorded a run its state and kind
    win; otherwise they are derived from the tasks' final attempts:
    any failed task fails the run, a finished finalizer with no failure is a
    success (the finalizer runs after failures too), a skipped root skips it.
    The step tokens of the root and the finalizer are orchestration/graph.py's
    (dbt_vars, rendered into dbt_project.yml; no default here).
-#}
{%- set finalizer_step = var('finalizer_step') %}
{%- set root_step = var('root_step') %}
with

step_runs as (

    select * from {{ ref('fct_step_runs') }}

),

recorded_runs as (

    select * from {{ ref('stg_ops__pipeline_runs') }}

),

file_versions as (

    select * from {{ ref('fct_file_version_progress') }}

),

file_changes as (

    select * from {{ ref('stg_pixelforge__file_changes') }}

),

final_attempts as (

    select * from step_runs

    where is_final_attempt

),

first_failures as (

    select
        run_id,
        step as failed_step,
        error_message

    from final_attempts

    where is_failed

    qualify row_number() over (
        partition by run_id
        order by started_at asc, step asc
    ) = 1

),

task_run_summaries as (

    select
        run_id,
        min(scheduled_at) as scheduled_at,
        min(started_at) as started_at,
        max(completed_at) as ended_at,
        min_by(scheduled_from, started_at) as scheduled_from,
        count(*) as task_attempts,
        count_if(is_failed) as failed_attempts,
        boolor_agg(is_final_attempt and is_failed) as has_failed_task,
        boolor_agg(
            is_final_attempt
            and step = '{{ finalizer_step }}'
            and state = 'SUCCEEDED'
        ) as has_finished_finalizer,
        boolor_agg(
            step = '{{ root_step }}' and state = 'SKIPPED'
        ) as has_skipped_root,
        boolor_agg(
            step in (
                '{{ finalizer_step }}',
                '{{ root_step }}'
            )
        ) as is_pipeline_graph

    from step_runs

    group by 1

),

change_counts as (

    select
        run_id,
        count(*) as files_discovered,
        count_if(change_type = 'deleted') as files_deleted

    from file_changes

    group by 1

),

load_counts as (

    select
        latest_discovered_run_id as run_id,
        count_if(is_loaded and not is_quarantined) as files_queryable,
        count_if(is_quarantined) as files_quarantined

    from file_versions

    group by 1

),

runs as (

    select
        recorded_runs.error_message as recorded_error_message,
        coalesce(recorded_runs.run_id, task_run_summaries.run_id) as run_id,
        coalesce(
            recorded_runs.kind,
            case
                when task_run_summaries.scheduled_from = 'SCHEDULE'
                    then 'scheduled'
                else 'manual'
            end
        ) as kind,
        coalesce(
            recorded_runs.state,
            case
                when task_run_summaries.has_failed_task then 'FAILED'
                when task_run_summaries.has_finished_finalizer then 'SUCCEEDED'
                when task_run_summaries.has_skipped_root then 'SKIPPED'
                else 'EXECUTING'
            end
        ) as state,
        coalesce(
            recorded_runs.scheduled_at, task_run_summaries.scheduled_at
        ) as scheduled_at,
        coalesce(
            recorded_runs.started_at, task_run_summaries.started_at
        ) as started_at,
        coalesce(
            recorded_runs.ended_at, task_run_summaries.ended_at
        ) as ended_at,
        coalesce(task_run_summaries.task_attempts, 0) as task_attempts,
        coalesce(task_run_summaries.failed_attempts, 0) as failed_attempts

    from recorded_runs

    full outer join task_run_summaries
        on recorded_runs.run_id = task_run_summaries.run_id

    -- production history also holds standalone tasks (reconciliation,
    -- history copy): a pipeline run has a root or finalizer, or a record
    where
        recorded_runs.run_id is not null
        or task_run_summaries.is_pipeline_graph

),

pipeline_runs as (

    select
        ----------  ids
        runs.run_id,

        ---------- strings
        runs.kind,
        runs.state,
        first_failures.failed_step,

        ---------- numerics
        runs.task_attempts,
        runs.failed_attempts,

        ---------- timestamps
        runs.scheduled_at,
        runs.started_at,
        runs.ended_at,

        ---------- derived
        coalesce(
            first_failures.error_message, runs.recorded_error_message
        ) as error_message,
        coalesce(change_counts.files_discovered, 0) as files_discovered,
        coalesce(change_counts.files_deleted, 0) as files_deleted,
        coalesce(load_counts.files_queryable, 0) as files_queryable,
        coalesce(load_counts.files_quarantined, 0) as files_quarantined,
        datediff('millisecond', runs.started_at, runs.ended_at)
        / 1000.0 as duration_seconds,
        runs.kind = 'scheduled' as is_scheduled,
        runs.state = 'SUCCEEDED' as is_succeeded

    from runs

    left join first_failures
        on runs.run_id = first_failures.run_id

    left join change_counts
        on runs.run_id = change_counts.run_id

    left join load_counts
        on runs.run_id = load_counts.run_id

)

select * from pipeline_runs
