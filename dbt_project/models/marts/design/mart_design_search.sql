{#-
    One row per current, non-quarantined file version (dim_design_files v2,
    is_valid) with the words a search finds it by: its path's tokens, layer
    names, text, fonts, colours and creator tool, and search_text, all of
    them in one lower-cased string. The production Cortex Search Service
    indexes search_text (orchestration/deploy/search_service.py);
    `pixelforge search` ranks these rows locally (orchestration/search.py).

    A table merged on relative_path, never replaced (full_refresh off): the
    Cortex Search Service reads it with change tracking on, which a CREATE OR
    REPLACE would drop ("Change tracking is not enabled or has been ...",
    dynamic-table error 091930). An incremental run merges the paths whose
    dim_design_files v2 row was merged after this table's loaded_at mark (a
    new version, a re-check, re-extracted facets) and that are valid; the
    post-hook deletes the rows of paths no longer valid (deleted,
    quarantined), which a merge cannot.
-#}
{{ config(
    post_hook="delete from {{ this }} where relative_path not in (
        select relative_path from {{ ref('dim_design_files', v=2) }}
        where is_valid
    )"
) }}

with

current_files as (

    select
        *,
        -- the path split at separators and punctuation, lower case:
        -- "team-a/Hero_Banner.png" -> "team a hero banner png"
        trim(
            regexp_replace(lower(relative_path), '[[:space:][:punct:]]+', ' ')
        ) as name_tokens

    from {{ ref('dim_design_files', v=2) }}

    where is_valid
    {% if is_incremental() %}
        and loaded_at > {{ incremental_watermark('loaded_at') }}
    {% endif %}

),

file_version_facets as (

    select
        file_version_id,
        fonts
    from {{ ref('int_file_version_facets') }}
    where
        file_version_id in (
            select current_files.file_version_id from current_files
        )

),

layer_names as (

    select
        file_version_id,
        listagg(layer_name, ' ') within group (
            order by layer_index
        ) as layer_names

    from {{ ref('int_design_layers') }}

    where
        file_version_id in (
            select current_files.file_version_id from current_files
        )
        and layer_index is not null and layer_name != ''

    group by 1

),

texts as (

    select
        file_version_id,
        listagg(text, ' ') within group (
            order by text_run_index
        ) as text  -- noqa: RF04

    from {{ ref('int_design_text') }}

    where
        file_version_id in (
            select current_files.file_version_id from current_files
        )
        and text_run_index is not null and text != ''

    group by 1

),

colors as (

    select
        file_version_id,
        listagg(color_hex, ' ') within group (
            order by color_rank
        ) as colors

    from {{ ref('int_design_colors') }}

    where
        file_version_id in (
            select current_files.file_version_id from current_files
        )
        and color_rank is not null

    group by 1

),

search_rows as (

    select
        current_files.file_version_id,
        current_files.relative_path,
        current_files.etag,
        current_files.format,
        current_files.name_tokens,
        layer_names.layer_names,
        texts.text,
        file_version_facets.fonts,
        colors.colors,
        current_files.creator_tool,
        current_files.loaded_at

    from current_files

    left join file_version_facets
        on current_files.file_version_id = file_version_facets.file_version_id

    left join layer_names
        on current_files.file_version_id = layer_names.file_version_id

    left join texts
        on current_files.file_version_id = texts.file_version_id

    left join colors
        on current_files.file_version_id = colors.file_version_id

)

select
    *,
    -- Snowflake's CONCAT_WS is null when any argument is: coalesce each part.
    lower(
        trim(
            name_tokens
            || ' ' || coalesce(format, '')
            || ' ' || coalesce(creator_tool, '')
            || ' ' || coalesce(layer_names, '')
            || ' ' || coalesce(text, '')
            || ' ' || coalesce(fonts, '')
        )
    ) as search_text

from search_rows
