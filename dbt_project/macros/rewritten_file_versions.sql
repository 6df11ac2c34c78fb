{#-
    For an incremental model whose table carries extracted_at and
    thumbnails_rendered_at (int_file_versions_checked): the CTE
    rewritten_versions (file_version_id, may repeat), the versions with
    metadata or thumbnail rows written after the table's own high-water marks
    of those columns. The marks filter the raw timestamp columns directly, so
    only the rows written since the last build are read.
-#}
{% macro rewritten_file_versions() -%}
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

)
{%- endmacro %}
