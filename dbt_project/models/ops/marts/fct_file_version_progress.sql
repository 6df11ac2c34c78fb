{#-
    One row per discovered file version (relative_path, etag) with how far it
    got: discovery, extraction, rendering, load, and when it left the backlog
    (loaded, or superseded by a later change of its path before loading).
    A failed run leaves its files to the next run, which discovers them again:
    the first discovery counts for latency, the latest for "which run has it".
    A mart: "loaded" is the file mart's (marts.fct_file_versions) to say.
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

discoveries as (

    select
        file_version_id,
        relative_path,
        etag,
        last_modified_at,
        min(discovered_at) as first_discovered_at,
        max(discovered_at) as latest_discovered_at,
        min_by(run_id, discovered_at) as first_discovered_run_id,
        max_by(run_id, discovered_at) as latest_discovered_run_id,
        count(*) as discovery_count

    from file_changes

    where change_type != 'deleted'

    group by 1, 2, 3, 4

),

-- A later change of the same path (an overwrite or a deletion) replaces a
-- version that was never loaded: it leaves the backlog then.
supersessions as (

    select
        discoveries.file_version_id,
        min(file_changes.discovered_at) as superseded_at

    from discoveries

    inner join file_changes
        on
            discoveries.relative_path = file_changes.relative_path
            and discoveries.first_discovered_at < file_changes.discovered_at
            and (
                file_changes.change_type = 'deleted'
                or discoveries.file_version_id != file_changes.file_version_id
            )

    group by 1

),

renders as (

    select
        file_version_id,
        count_if(status = 'ok') as thumbnails_ok,
        count_if(status = 'failed') as thumbnails_failed,
        max(rendered_at) as thumbnails_rendered_at,
        max_by(run_id, rendered_at) as rendered_run_id

    from thumbnails

    group by 1

),

file_versions_tracked as (

    select
        ----------  ids
        discoveries.file_version_id,
        discoveries.first_discovered_run_id,
        discoveries.latest_discovered_run_id,
        file_metadata.run_id as extracted_run_id,
        renders.rendered_run_id,

        ---------- strings
        discoveries.relative_path,
        discoveries.etag,
        file_metadata.status as metadata_status,
        file_metadata.reason_code as metadata_reason_code,
        file_metadata.error_message as metadata_error_message,
        file_versions.quarantine_reason_codes,

        ---------- numerics
        discoveries.discovery_count,
        file_versions.upload_to_queryable_seconds,

        ---------- timestamps
        discoveries.last_modified_at,
        discoveries.first_discovered_at,
        discoveries.latest_discovered_at,
        file_metadata.extracted_at,
        renders.thumbnails_rendered_at,
        file_versions.first_loaded_at,
        supersessions.superseded_at,

        ---------- derived
        coalesce(renders.thumbnails_ok, 0) as thumbnails_ok,
        coalesce(renders.thumbnails_failed, 0) as thumbnails_failed,
        file_versions.file_version_id is not null as is_loaded,
        coalesce(file_versions.is_quarantined, false) as is_quarantined,
        case
            when file_versions.first_loaded_at is null
                then supersessions.superseded_at
            when supersessions.superseded_at is null
                then file_versions.first_loaded_at
            else
                least(
                    file_versions.first_loaded_at,
                    supersessions.superseded_at
                )
        end as left_backlog_at

    from discoveries

    left join file_metadata
        on discoveries.file_version_id = file_metadata.file_version_id

    left join renders
        on discoveries.file_version_id = renders.file_version_id

    left join file_versions
        on discoveries.file_version_id = file_versions.file_version_id

    left join supersessions
        on discoveries.file_version_id = supersessions.file_version_id

)

select * from file_versions_tracked
