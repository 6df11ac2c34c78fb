{#-
    The current state of each design file path, merged on relative_path: the
    latest change by discovered_at wins, deletions included (is_deleted,
    deleted_at). An incremental run reads only changes discovered after the
    table's high-water mark, plus the paths whose current version was checked
    after the table's checked_at mark (their change columns come from the
    table itself, so no old change is re-read). Verdicts are looked up by key
    in int_file_versions_checked: a new change may point at a version checked
    in an earlier run (a deletion does).
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

        ---------- numerics
        current_changes.size_bytes,
        file_versions_checked.width_px,
        file_versions_checked.height_px,

        ---------- booleans
        current_changes.change_type = 'deleted' as is_deleted,
        -- Valid: present, extracted, and no rule fails. Unchecked is not valid.
        coalesce(
            current_changes.change_type != 'deleted'
            and not file_versions_checked.is_quarantined,
            false
        ) as is_valid,

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
        {{ utc_now() }} as loaded_at

    from current_changes

    left join file_versions_checked
        on
            current_changes.file_version_id
            = file_versions_checked.file_version_id

)

select * from design_files
