{#-
    One row per file version and metadata facet (raw.file_facets) with the
    status an operator reads: `failed` (the extractor raised or met a limit:
    its reason code and message), `truncated` (a cap of
    pixelforge_core/limits.py cut its payload: the caps extraction recorded,
    or, for a row written before it recorded them, the payload's flag) or
    `ok`. `pixelforge explain` and the dashboard's Files page show the current
    version's (orchestration/sql/ops_file_facets.sql).
-#}
with

file_facets as (

    select * from {{ ref('stg_pixelforge__file_facets') }}

),

flagged as (

    select
        *,
        coalesce(payload:layers_truncated::boolean, false) as layers_truncated,
        coalesce(payload:truncated::boolean, false) as text_truncated

    from file_facets

)

select
    file_version_id,
    relative_path,
    etag,
    facet,
    facet_version,
    reason_code,
    run_id,
    extracted_at,
    case
        when status = 'failed' then 'failed'
        when
            error_message is not null or layers_truncated or text_truncated
            then 'truncated'
        else 'ok'
    end as facet_status,
    case
        -- not concat_ws: Snowflake's returns null when any argument is null
        when status = 'failed'
            then
                coalesce(reason_code, 'failed')
                || coalesce(': ' || error_message, '')
        when error_message is not null then error_message
        when layers_truncated
            then 'more layers than listed (layers_truncated; cap not recorded)'
        when text_truncated
            then 'text cut at a limit (truncated; cap not recorded)'
    end as reason

from flagged
