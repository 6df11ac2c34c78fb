{#-
    One row per file version that has facet rows (raw.file_facets), with the
    scalar facts of its document, structure, text and visual facets side by
    side: the columns dim_design_files v2 and mart_design_search read. Merged
    on file_version_id. An incremental run re-reads every facet row of the
    versions with a facet row written after this table's facets_extracted_at
    mark (a re-processed facet rewrites only its own row, and the merge
    replaces the whole version's row), so the work follows the batch.
-#}
with

{% if is_incremental() %}

    refreshed_versions as (

        select file_version_id from {{ ref('stg_pixelforge__file_facets') }}

        where
            extracted_at > {{ incremental_watermark('facets_extracted_at') }}

    ),

{% endif %}

file_facets as (

    select * from {{ ref('stg_pixelforge__file_facets') }}

    {% if is_incremental() %}
        where file_version_id in (
            select refreshed_versions.file_version_id from refreshed_versions
        )
    {% endif %}

),

versions as (

    select
        file_version_id,
        max(relative_path) as relative_path,
        max(etag) as etag,
        max(extracted_at) as facets_extracted_at

    from file_facets

    group by 1

),

failed_facets as (

    select
        file_version_id,
        listagg(facet, ',') within group (
            order by facet
        ) as failed_facets

    from file_facets

    where status = 'failed'

    group by 1

),

document_facets as (

    select * from file_facets
    where facet = 'document'

),

structure_facets as (

    select * from file_facets
    where facet = 'structure'

),

text_facets as (

    select * from file_facets
    where facet = 'text'

),

visual_facets as (

    select * from file_facets
    where facet = 'visual'

),

font_names as (

    select
        text_facets.file_version_id,
        font.value::varchar as font_name

    from text_facets,
        lateral flatten(input => text_facets.payload:fonts) as font

),

fonts as (

    select
        file_version_id,
        listagg(font_name, ', ') within group (
            order by font_name
        ) as fonts

    from font_names

    group by 1

),

file_version_facets as (

    select
        ----------  ids
        versions.file_version_id,

        ---------- columns as stored
        versions.relative_path,
        versions.etag,
        failed_facets.failed_facets,
        document_facets.status as document_status,
        structure_facets.status as structure_status,
        text_facets.status as text_status,
        visual_facets.status as visual_status,
        fonts.fonts,
        versions.facets_extracted_at,

        ---------- strings from the payloads
        document_facets.payload:creator_tool::varchar as creator_tool,
        document_facets.payload:document_id::varchar as document_id,
        document_facets.payload:instance_id::varchar as instance_id,
        document_facets.payload:derived_from::varchar
            as derived_from_document_id,
        document_facets.payload:title::varchar as title,  -- noqa: RF04
        document_facets.payload:author::varchar as author,
        document_facets.payload:creator::varchar as creator,
        document_facets.payload:producer::varchar as producer,
        document_facets.payload:icc_profile::varchar as icc_profile,
        document_facets.payload:color_space::varchar as color_space,
        visual_facets.payload:phash::varchar as phash,
        visual_facets.payload:edge_phash::varchar as edge_phash,
        visual_facets.payload:thumbhash::varchar as thumbhash,
        visual_facets.payload:dominant_colors[0]:hex::varchar
            as dominant_color_hex,

        ---------- numerics
        document_facets.payload:animation_duration_ms::number(38, 0)
            as animation_duration_ms,
        document_facets.payload:loop_count::number(38, 0) as loop_count,

        ---------- booleans
        document_facets.payload:uses_transparency::boolean
            as uses_transparency,
        structure_facets.payload:layers_truncated::boolean as layers_truncated,
        structure_facets.payload:has_annotations::boolean as has_annotations,
        structure_facets.payload:has_forms::boolean as has_forms,
        text_facets.payload:truncated::boolean as text_truncated

    from versions

    left join failed_facets
        on versions.file_version_id = failed_facets.file_version_id

    left join document_facets
        on versions.file_version_id = document_facets.file_version_id

    left join structure_facets
        on versions.file_version_id = structure_facets.file_version_id

    left join text_facets
        on versions.file_version_id = text_facets.file_version_id

    left join fonts
        on versions.file_version_id = fonts.file_version_id

    left join visual_facets
        on versions.file_version_id = visual_facets.file_version_id

)

select * from file_version_facets
