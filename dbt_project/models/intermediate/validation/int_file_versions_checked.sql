{#-
    One row per file version (relative_path, etag) with its quality verdict,
    merged on file_version_id. Each rule is one CTE that yields
    (file_version_id, reason_code) for the versions it fails; reason codes are
    rule_codes of seeds/quality_rules.csv. A version is quarantined when any
    rule fails.

    A full build checks every version. An incremental run re-checks only the
    versions with metadata or thumbnail rows written after this table's own
    high-water marks of extracted_at and thumbnails_rendered_at
    (rewritten_versions): the staging rows are restricted to those versions
    before any aggregate or window, and every aggregate and window below is
    per file_version_id, so their verdicts are the same as over all rows while
    the work follows the batch, not the history (a filter from outside is not
    pushed through the aggregates). checked_at is one value per run: the marts
    read the rows checked after their own mark, and the row-local tests read
    the latest run's rows (where: __latest_check__).

    It is one model (~300 lines) on purpose: its CTEs are the validate step's
    rules, and the incremental filter must reach each of them before any
    aggregate. Rules as models of their own would be views that re-aggregate
    the whole history per run and per test, or tables with marks of their own.
-#}
{%- set only_rewritten -%}
    {%- if is_incremental() %}
    where file_version_id in (
        select rewritten_versions.file_version_id from rewritten_versions
    )
    {%- endif %}
{%- endset -%}

with

{% if is_incremental() %}

    -- This table's own marks filter the raw timestamp columns directly, so
    -- only the rows written since its last build are read.
    new_file_metadata as (

        select * from {{ ref('stg_pixelforge__file_metadata') }}

        where extracted_at > {{ incremental_watermark('extracted_at') }}

    ),

    new_thumbnails as (

        select * from {{ ref('stg_pixelforge__thumbnails') }}

        where
            rendered_at > {{ incremental_watermark('thumbnails_rendered_at') }}

    ),

    rewritten_versions as (

        select file_version_id from new_file_metadata
        union all
        select file_version_id from new_thumbnails

    ),

{% endif %}

file_metadata as (

    select * from {{ ref('stg_pixelforge__file_metadata') }}
    {{- only_rewritten }}

),

thumbnails as (

    select * from {{ ref('stg_pixelforge__thumbnails') }}
    {{- only_rewritten }}

),

file_changes as (

    select * from {{ ref('stg_pixelforge__file_changes') }}
    {{- only_rewritten }}

),

accepted_formats as (

    select * from {{ ref('accepted_formats') }}

),

-- The upload time of a version comes from the first change that announced it.
version_uploads as (

    select
        file_version_id,
        last_modified_at

    from file_changes

    where change_type != 'deleted'

    qualify row_number() over (
        partition by file_version_id
        order by discovered_at asc, run_id asc
    ) = 1

),

thumbnails_pivoted as (

    select
        file_version_id,
        max(
            case when size_px = 256 and status = 'ok' then thumbnail_key end
        ) as thumbnail_256_key,
        max(
            case when size_px = 1024 and status = 'ok' then thumbnail_key end
        ) as thumbnail_1024_key,
        max(rendered_at) as thumbnails_rendered_at

    from thumbnails

    group by 1

),

-- unreadable_file family: extraction failed and said why.
metadata_failures as (

    select
        file_version_id,
        coalesce(reason_code, 'unreadable_file') as reason_code

    from file_metadata

    where status = 'failed'

),

absurd_dimensions as (

    select
        file_version_id,
        'absurd_dimensions' as reason_code

    from file_metadata

    where
        status = 'ok'
        and (
            width_px is null
            or height_px is null
            or width_px <= 0
            or height_px <= 0
            or width_px > {{ var('max_side_px') }}
            or height_px > {{ var('max_side_px') }}
            or width_px * height_px > {{ var('max_pixels') }}
        )

),

unsupported_formats as (

    select
        file_metadata.file_version_id,
        'unsupported_format' as reason_code

    from file_metadata

    left join accepted_formats
        on file_metadata.format = accepted_formats.format

    where
        file_metadata.status = 'ok'
        and accepted_formats.format is null

),

missing_thumbnails as (

    select
        file_metadata.file_version_id,
        'thumbnail_missing' as reason_code

    from file_metadata

    left join thumbnails_pivoted
        on file_metadata.file_version_id = thumbnails_pivoted.file_version_id

    where
        file_metadata.status = 'ok'
        and (
            thumbnails_pivoted.thumbnail_256_key is null
            or thumbnails_pivoted.thumbnail_1024_key is null
        )

),

-- The renderer's own reason (render_failed, render_timeout), once per version.
render_failures as (

    select distinct
        file_version_id,
        coalesce(reason_code, 'render_failed') as reason_code

    from thumbnails

    where status = 'failed'

),

rule_failures as (

    select * from metadata_failures
    union all
    select * from absurd_dimensions
    union all
    select * from unsupported_formats
    union all
    select * from missing_thumbnails
    union all
    select * from render_failures

),

-- A renderer may report a code another rule also found; count it once.
distinct_rule_failures as (

    select distinct
        file_version_id,
        reason_code

    from rule_failures

),

verdicts as (

    select
        file_version_id,
        count(*) as failed_rule_count,
        listagg(reason_code, ',') within group (
            order by reason_code
        ) as quarantine_reason_codes

    from distinct_rule_failures

    group by 1

),

file_versions_checked as (

    select
        ----------  ids
        file_metadata.file_version_id,

        ---------- strings
        file_metadata.relative_path,
        file_metadata.etag,
        file_metadata.status as metadata_status,
        file_metadata.reason_code as metadata_reason_code,
        file_metadata.error_message as metadata_error_message,
        file_metadata.format,
        file_metadata.mode,
        file_metadata.sha256,
        thumbnails_pivoted.thumbnail_256_key,
        thumbnails_pivoted.thumbnail_1024_key,
        verdicts.quarantine_reason_codes,

        ---------- numerics
        file_metadata.width_px,
        file_metadata.height_px,
        file_metadata.bit_depth,
        file_metadata.dpi_x,
        file_metadata.dpi_y,
        file_metadata.frame_count,
        file_metadata.page_count,
        file_metadata.layer_count,
        file_metadata.size_bytes,

        ---------- semi-structured
        file_metadata.exif,

        ---------- timestamps
        version_uploads.last_modified_at,
        file_metadata.extracted_at,
        thumbnails_pivoted.thumbnails_rendered_at,

        ---------- verdict
        coalesce(verdicts.failed_rule_count, 0) as failed_rule_count,
        verdicts.file_version_id is not null as is_quarantined

    from file_metadata

    left join version_uploads
        on file_metadata.file_version_id = version_uploads.file_version_id

    left join thumbnails_pivoted
        on file_metadata.file_version_id = thumbnails_pivoted.file_version_id

    left join verdicts
        on file_metadata.file_version_id = verdicts.file_version_id

)

select
    *,
    -- dbt's run_started_at: one value in every statement of the run
    cast(
        '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp_ntz
    ) as checked_at

from file_versions_checked
