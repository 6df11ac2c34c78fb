{#-
    Where each design file path is in the pipeline now, and why it is not
    queryable yet. The current version is the directory table's (what S3
    holds now); a path gone from S3 shows its last discovered version.
    Stages, in pipeline order: awaiting_discovery, awaiting_extraction,
    awaiting_render, awaiting_load, quarantined, queryable, deleted.
-#}
with

directory_entries as (

    select * from {{ ref('stg_designs__directory_entries') }}

),

file_versions as (

    select * from {{ ref('fct_file_version_progress') }}

),

file_changes as (

    select * from {{ ref('stg_pixelforge__file_changes') }}

),

pipeline_runs as (

    select * from {{ ref('fct_pipeline_runs') }}

),

latest_changes as (

    select
        relative_path,
        file_version_id,
        change_type,
        discovered_at

    from file_changes

    qualify row_number() over (
        partition by relative_path
        order by discovered_at desc, run_id desc
    ) = 1

),

paths as (

    select relative_path from directory_entries
    union distinct
    select relative_path from latest_changes

),

current_versions as (

    select
        paths.relative_path,
        directory_entries.etag as directory_etag,
        directory_entries.last_modified_at as directory_last_modified_at,
        latest_changes.change_type as latest_change_type,
        coalesce(
            directory_entries.file_version_id, latest_changes.file_version_id
        ) as file_version_id,
        directory_entries.file_version_id is null as is_gone_from_directory

    from paths

    left join directory_entries
        on paths.relative_path = directory_entries.relative_path

    left join latest_changes
        on paths.relative_path = latest_changes.relative_path

),

staged as (

    select
        current_versions.relative_path,
        current_versions.file_version_id,
        current_versions.directory_etag,
        current_versions.directory_last_modified_at,
        file_versions.etag,
        file_versions.latest_discovered_run_id,
        file_versions.metadata_status,
        file_versions.metadata_reason_code,
        file_versions.metadata_error_message,
        file_versions.quarantine_reason_codes,
        file_versions.thumbnails_ok,
        file_versions.thumbnails_failed,
        file_versions.upload_to_queryable_seconds,
        file_versions.last_modified_at,
        file_versions.first_discovered_at,
        file_versions.extracted_at,
        file_versions.thumbnails_rendered_at,
        file_versions.first_loaded_at,
        case
            when
                current_versions.is_gone_from_directory
                and current_versions.latest_change_type = 'deleted'
                then 'deleted'
            when file_versions.file_version_id is null
                then 'awaiting_discovery'
            when file_versions.is_quarantined then 'quarantined'
            when file_versions.is_loaded then 'queryable'
            when file_versions.metadata_status is null
                then 'awaiting_extraction'
            when
                file_versions.metadata_status = 'ok'
                and file_versions.thumbnails_ok
                + file_versions.thumbnails_failed = 0
                then 'awaiting_render'
            else 'awaiting_load'
        end as pipeline_stage

    from current_versions

    left join file_versions
        on current_versions.file_version_id = file_versions.file_version_id

),

file_states as (

    select
        ----------  ids
        staged.relative_path,
        staged.file_version_id,
        staged.latest_discovered_run_id,

        ---------- strings
        staged.pipeline_stage,
        pipeline_runs.state as latest_run_state,
        pipeline_runs.failed_step as latest_run_failed_step,
        pipeline_runs.error_message as latest_run_error_message,
        staged.metadata_status,
        staged.metadata_reason_code,
        staged.metadata_error_message,
        staged.quarantine_reason_codes,

        ---------- numerics
        staged.thumbnails_ok,
        staged.thumbnails_failed,
        staged.upload_to_queryable_seconds,

        ---------- timestamps
        staged.first_discovered_at,
        staged.extracted_at,
        staged.thumbnails_rendered_at,
        staged.first_loaded_at,

        ---------- derived
        coalesce(staged.directory_etag, staged.etag) as etag,
        coalesce(
            staged.directory_last_modified_at, staged.last_modified_at
        ) as last_modified_at,
        staged.pipeline_stage = 'queryable' as is_queryable,
        staged.pipeline_stage like 'awaiting_%' as is_in_backlog,
        case staged.pipeline_stage
            when 'awaiting_discovery'
                then 'uploaded; the next successful run discovers it'
            when 'quarantined'
                then 'quarantined: ' || staged.quarantine_reason_codes
            when 'queryable' then null
            when 'deleted' then 'deleted from the designs bucket'
            when 'awaiting_extraction'
                then
                    'discovered by run ' || staged.latest_discovered_run_id
                    || ' (' || coalesce(pipeline_runs.state, 'unknown') || ')'
                    || ' but not extracted yet'
            when 'awaiting_render'
                then
                    'extracted by run ' || staged.latest_discovered_run_id
                    || ' (' || coalesce(pipeline_runs.state, 'unknown') || ')'
                    || ' but its thumbnails are not rendered yet'
            else
                'extracted and rendered by run '
                || staged.latest_discovered_run_id
                || ' (' || coalesce(pipeline_runs.state, 'unknown') || ')'
                || ' but not loaded yet'
        end as not_queryable_reason

    from staged

    left join pipeline_runs
        on staged.latest_discovered_run_id = pipeline_runs.run_id

)

select * from file_states
