{#-
    The text runs of every file version's text facet (PSD text layers, SVG
    text elements, PDF pages), one row per run, for all file versions:
    fct_design_text keeps the current ones. Replaced per file version like
    int_design_layers (delete+insert on file_version_id, one row with
    text_run_index null standing for the facet row itself).
-#}
with

text_facets as (

    select * from {{ ref('stg_pixelforge__file_facets') }}

    where
        facet = 'text'
    {% if is_incremental() %}
            and extracted_at
            > {{ incremental_watermark('facet_extracted_at') }}
        {% endif %}

),

text_runs as (

    select
        text_facets.file_version_id,
        text_facets.relative_path,
        text_facets.etag,
        cast(text_run.index as number(38, 0)) as text_run_index,
        cast(text_run.value:source as varchar) as text_source,
        cast(text_run.value:ref as number(38, 0)) as text_ref,
        cast(text_run.value:text as varchar) as text,  -- noqa: RF04
        text_facets.extracted_at as facet_extracted_at

    from text_facets,
        lateral flatten(input => text_facets.payload:runs) as text_run

),

facet_rows as (

    select
        file_version_id,
        relative_path,
        etag,
        cast(null as number(38, 0)) as text_run_index,
        cast(null as varchar) as text_source,
        cast(null as number(38, 0)) as text_ref,
        cast(null as varchar) as text,  -- noqa: RF04
        extracted_at as facet_extracted_at

    from text_facets

)

select * from text_runs
union all
select * from facet_rows
