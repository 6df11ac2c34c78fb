{#-
    Version 2 of dim_design_files: version 1's columns (dim_design_files_v1 is a
    view of them over this table) and the file version's document and visual
    facets (int_file_version_facets).

    The current state of each design file path, merged on relative_path: the
    latest change by discovered_at wins, deletions included (is_deleted,
    deleted_at). An incremental run reads only changes discovered after the
    table's high-water mark, plus the paths whose current version was checked
    after the table's checked_at mark (their change columns come from the
    table itself, so no old change is re-read). Verdicts are looked up by key
    in int_file_versions_checked: a new change may point at a version checked
    in an earlier run (a deletion does). A path whose current version got
    facet rows after the table's facets_extracted_at mark (a facet re-processed,
    its visual facet rendered late) is merged again the same way.
-#}
with

changes_to_merge as (

    select * from {{ ref('stg_pixelforge__file_changes') }}

    {% if is_incremental() %}
        where discovered_at > {{ incremental_watermark('discovered_at') }}
    {% endif %}

),

latest_changes as (

    select
        relative_path,
        file_version_id,
        etag,
        md5,
        change_type,
        size_bytes,
        last_modified_at,
        discovered_at

    from changes_to_merge

    qualify row_number() over (
        partition by relative_path
        order by discovered_at desc, run_id desc
    ) = 1

),

{% if is_incremental() %}

    existing_design_files as (

        select * from {{ this }}

    ),

    rechecked_versions as (

        select file_version_id from {{ ref('int_file_versions_checked') }}

        where checked_at > {{ incremental_watermark('checked_at') }}

        union all

        select file_version_id from {{ ref('int_file_version_facets') }}

        where
            facets_extracted_at
            > {{ incremental_watermark('facets_extracted_at') }}

    ),

    refreshed_changes as (

        select
            existing_design_files.relative_path,
            existing_design_files.file_version_id,
            existing_design_files.etag,
            existing_design_files.md5,
            existing_design_files.change_type,
            existing_design_files.size_bytes,
            existing_design_files.last_modified_at,
            existing_design_files.discovered_at

        from existing_design_files

        left join latest_changes
            on
                existing_design_files.relative_path
                = latest_changes.relative_path

        where
            latest_changes.relative_path is null
            and existing_design_files.file_version_id in (
                select rechecked_versions.file_version_id
                from rechecked_versions
            )

    ),

    current_changes as (

        select * from latest_changes
        union all
        select * from refreshed_changes

    ),

{% else %}

    current_changes as (

        select * from latest_changes

    ),

{% endif %}

file_versions_checked as (

    select * from {{ ref('int_file_versions_checked') }}

    {% if is_incremental() %}
        where file_version_id in (
            select current_changes.file_version_id from current_changes
        )
    {% endif %}

),

file_version_facets as (

    select * from {{ ref('int_file_version_facets') }}

    {% if is_incremental() %}
        where file_version_id in (
            select current_changes.file_version_id from current_changes
        )
    {% endif %}

),

design_files as (

    select
        ----------  ids
        current_changes.relative_path,
        current_changes.file_version_id,

        ---------- strings
        current_changes.etag,
        current_changes.md5,
        current_changes.change_type,
        file_versions_checked.format,
        file_versions_checked.thumbnail_256_key,
        file_versions_checked.thumbnail_1024_key,
        file_versions_checked.quarantine_reason_codes,
        file_version_facets.creator_tool,
        file_version_facets.document_id,
        file_version_facets.instance_id,
        file_version_facets.derived_from_document_id,
        file_version_facets.title,
        file_version_facets.author,
        file_version_facets.icc_profile,
        file_version_facets.color_space,
        file_version_facets.phash,
        file_version_facets.thumbhash,
        file_version_facets.dominant_color_hex,

        ---------- numerics
        current_changes.size_bytes,
        file_versions_checked.width_px,
        file_versions_checked.height_px,
        file_version_facets.animation_duration_ms,
        file_version_facets.loop_count,

        ---------- booleans
        current_changes.change_type = 'deleted' as is_deleted,
        -- Valid: present, extracted, and no rule fails. Unchecked is not valid.
        coalesce(
            current_changes.change_type != 'deleted'
            and not file_versions_checked.is_quarantined,
            false
        ) as is_valid,
        file_version_facets.uses_transparency,

        ---------- timestamps
        current_changes.last_modified_at,
        current_changes.discovered_at,
        case
            when current_changes.change_type = 'deleted'
                then current_changes.discovered_at
        end as deleted_at,
        file_versions_checked.extracted_at,
        file_versions_checked.thumbnails_rendered_at,
        file_versions_checked.checked_at,
        file_version_facets.facets_extracted_at,
        {{ utc_now() }} as loaded_at

    from current_changes

    left join file_versions_checked
        on
            current_changes.file_version_id
            = file_versions_checked.file_version_id

    left join file_version_facets
        on
            current_changes.file_version_id
            = file_version_facets.file_version_id

)

select * from design_files
