{#-
    The dominant colours of every file version's visual facet (computed by the
    render step from the 256 px thumbnail), largest share first, for all file
    versions: fct_design_colors keeps the current ones. Replaced per file
    version like int_design_layers (delete+insert on file_version_id, one row
    with color_rank null standing for the facet row itself).
-#}
with

visual_facets as (

    select * from {{ ref('stg_pixelforge__file_facets') }}

    where
        facet = 'visual'
    {% if is_incremental() %}
            and extracted_at
            > {{ incremental_watermark('facet_extracted_at') }}
        {% endif %}

),

colors as (

    select
        visual_facets.file_version_id,
        visual_facets.relative_path,
        visual_facets.etag,
        cast(color.index + 1 as number(38, 0)) as color_rank,
        lower(cast(color.value:hex as varchar)) as color_hex,
        cast(color.value:share as float) as share,  -- noqa: RF04
        visual_facets.extracted_at as facet_extracted_at

    from visual_facets,
        lateral flatten(input => visual_facets.payload:dominant_colors) as color

),

facet_rows as (

    select
        file_version_id,
        relative_path,
        etag,
        cast(null as number(38, 0)) as color_rank,
        cast(null as varchar) as color_hex,
        cast(null as float) as share,  -- noqa: RF04
        extracted_at as facet_extracted_at

    from visual_facets

)

select * from colors
union all
select * from facet_rows
