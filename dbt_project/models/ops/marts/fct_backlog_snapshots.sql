{#-
    The backlog at the end of each finished run: file versions discovered by
    then and neither loaded nor superseded by then (discovered but not
    loaded), with the age of the oldest upload among them. Runs of the last
    backlog_window_days days only (a var of dbt_project.yml): each snapshot is
    a range join over the versions still open at that time.
-#}
{%- set window_days = var('backlog_window_days') %}
with

pipeline_runs as (

    select * from {{ ref('fct_pipeline_runs') }}

),

file_versions as (

    select * from {{ ref('fct_file_version_progress') }}

),

finished_runs as (

    select
        run_id,
        kind,
        state,
        ended_at

    from pipeline_runs

    where
        ended_at is not null
        and ended_at >= dateadd(
            'day', -{{ window_days }}, {{ utc_now() }}
        )

),

backlog_snapshots as (

    select
        ----------  ids
        finished_runs.run_id,

        ---------- strings
        finished_runs.kind as run_kind,
        finished_runs.state as run_state,

        ---------- timestamps
        finished_runs.ended_at as snapshot_at,

        ---------- numerics
        count(file_versions.file_version_id) as backlog_files,
        max(
            datediff(
                'second', file_versions.last_modified_at, finished_runs.ended_at
            )
        ) as oldest_backlog_age_seconds

    from finished_runs

    left join file_versions
        on
            finished_runs.ended_at >= file_versions.first_discovered_at
            and (
                file_versions.left_backlog_at is null
                or finished_runs.ended_at < file_versions.left_backlog_at
            )

    group by 1, 2, 3, 4

)

select * from backlog_snapshots
