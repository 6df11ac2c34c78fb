{#-
    A file's lineage across runs: one row per thing that happened to one of
    its versions (discovered, extracted, rendered, loaded), with the run that
    did it and that run's outcome. `pixelforge explain <path>` reads it.
    Key: (file_version_id, event_name, run_id, detail).
-#}
with

file_changes as (

    select * from {{ ref('stg_pixelforge__file_changes') }}

),

file_metadata as (

    select * from {{ ref('stg_pixelforge__file_metadata') }}

),

thumbnails as (

    select * from {{ ref('stg_pixelforge__thumbnails') }}

),

file_versions as (

    select * from {{ ref('fct_file_versions') }}

),

pipeline_runs as (

    select * from {{ ref('fct_pipeline_runs') }}

),

discovered as (

    select
        file_version_id,
        relative_path,
        etag,
        run_id,
        'discovered' as event_name,
        change_type as detail,
        cast(null as varchar) as reason_code,
        discovered_at as event_at

    from file_changes

),

extracted as (

    select
        file_version_id,
        relative_path,
        etag,
        run_id,
        'extracted' as event_name,
        status as detail,
        reason_code,
        extracted_at as event_at

    from file_metadata

),

rendered as (

    select
        file_version_id,
        relative_path,
        etag,
        run_id,
        'rendered' as event_name,
        size_px || ' px ' || status as detail,
        reason_code,
        rendered_at as event_at

    from thumbnails

),

loaded as (

    select
        file_version_id,
        relative_path,
        etag,
        cast(null as varchar) as run_id,
        'loaded' as event_name,
        case
            when is_quarantined then 'quarantined'
            else 'queryable'
        end as detail,
        quarantine_reason_codes as reason_code,
        first_loaded_at as event_at

    from file_versions

),

events as (

    select * from discovered
    union all
    select * from extracted
    union all
    select * from rendered
    union all
    select * from loaded

),

file_events as (

    select
        ----------  ids
        events.file_version_id,
        events.run_id,

        ---------- strings
        events.relative_path,
        events.etag,
        events.event_name,
        events.detail,
        events.reason_code,
        pipeline_runs.kind as run_kind,
        pipeline_runs.state as run_state,
        pipeline_runs.failed_step as run_failed_step,

        ---------- timestamps
        events.event_at

    from events

    left join pipeline_runs
        on events.run_id = pipeline_runs.run_id

)

select * from file_events
