{#-
    One row per file version (relative_path, etag), merged on file_version_id.
    An incremental run reads the rows of int_file_versions_checked checked
    after this table's own mark (checked_at): the versions the validate step
    just re-checked, say because their thumbnails arrived, get their new
    verdict and the rest of the table is left alone. first_loaded_at and
    upload_to_queryable_seconds are excluded from the merge's update
    (merge_exclude_columns), so they keep the values of the first load.
-#}
with

file_versions_checked as (

    select * from {{ ref('int_file_versions_checked') }}

    {% if is_incremental() %}
        where checked_at > {{ incremental_watermark('checked_at') }}
    {% endif %}

),

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
        checked_at,
        {{ utc_now() }} as first_loaded_at,
        {{ utc_now() }} as loaded_at

    from file_versions_checked

)

select * from file_versions
