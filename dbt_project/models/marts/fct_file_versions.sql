{#-
    One row per file version (relative_path, etag), merged on file_version_id.
    An incremental run re-merges only the versions with metadata or thumbnail
    rows written after the table's own high-water marks (extracted_at,
    thumbnails_rendered_at), so a version whose thumbnails arrive later gets
    its new verdict and the rest of the table is left alone. It checks those
    versions itself (checked_file_versions over the batch) rather than reading
    int_file_versions_checked, which would aggregate every raw row first.
    first_loaded_at and upload_to_queryable_seconds are excluded from the
    merge's update (merge_exclude_columns), so they keep the values of the
    first load.
-#}
-- Read only by incremental runs; declared so dbt orders the DAG at parse time.
-- depends_on: {{ ref('stg_pixelforge__file_metadata') }}
-- depends_on: {{ ref('stg_pixelforge__thumbnails') }}
-- depends_on: {{ ref('stg_pixelforge__file_changes') }}
-- depends_on: {{ ref('accepted_formats') }}
with

{% if is_incremental() %}

    {{ rewritten_file_versions() }},

    {{ checked_file_versions(changed_versions='rewritten_versions') }},

{% else %}

    file_versions_checked as (

        select * from {{ ref('int_file_versions_checked') }}

    ),

{% endif %}

file_versions as (

    select
        ----------  ids
        file_version_id,

        ---------- strings
        relative_path,
        etag,
        metadata_status,
        metadata_reason_code,
        metadata_error_message,
        format,
        mode,
        sha256,
        thumbnail_256_key,
        thumbnail_1024_key,
        quarantine_reason_codes,

        ---------- numerics
        width_px,
        height_px,
        bit_depth,
        dpi_x,
        dpi_y,
        frame_count,
        page_count,
        layer_count,
        size_bytes,
        failed_rule_count,
        -- Upload -> queryable latency, fixed at the first load.
        datediff(
            'second', last_modified_at, {{ utc_now() }}
        ) as upload_to_queryable_seconds,

        ---------- booleans
        is_quarantined,

        ---------- semi-structured
        exif,

        ---------- timestamps
        last_modified_at,
        extracted_at,
        thumbnails_rendered_at,
        {{ utc_now() }} as first_loaded_at,
        {{ utc_now() }} as loaded_at

    from file_versions_checked

)

select * from file_versions
