{#-
    The layer tree of every file version's structure facet, one row per layer
    (the payload's layers, flattened), for all file versions: fct_design_layers
    keeps the current ones. Replaced per file version (delete+insert on
    file_version_id): an incremental run reads the structure rows written after
    this table's facet_extracted_at mark. Each structure row also yields one
    row with layer_index null standing for the facet row itself, so a
    re-extraction that finds no layers (or fails) still replaces the version's
    old layers; the mart leaves those rows out. (fakesnow's FLATTEN ignores
    OUTER => TRUE, so the marker is a union, which both warehouses run alike.)
-#}
with

structure_facets as (

    select * from {{ ref('stg_pixelforge__file_facets') }}

    where
        facet = 'structure'
    {% if is_incremental() %}
            and extracted_at
            > {{ incremental_watermark('facet_extracted_at') }}
        {% endif %}

),

layers as (

    select
        structure_facets.file_version_id,
        structure_facets.relative_path,
        structure_facets.etag,
        cast(layer.value:index as number(38, 0)) as layer_index,
        cast(layer.value:parent_index as number(38, 0)) as parent_layer_index,
        cast(layer.value:depth as number(38, 0)) as depth,
        cast(layer.value:name as varchar) as layer_name,
        cast(layer.value:kind as varchar) as layer_kind,
        cast(layer.value:visible as boolean) as is_visible,
        cast(layer.value:opacity as float) as opacity,
        cast(layer.value:blend_mode as varchar) as blend_mode,
        cast(layer.value:bbox[0] as number(38, 0)) as bbox_left,
        cast(layer.value:bbox[1] as number(38, 0)) as bbox_top,
        cast(layer.value:bbox[2] as number(38, 0)) as bbox_right,
        cast(layer.value:bbox[3] as number(38, 0)) as bbox_bottom,
        structure_facets.extracted_at as facet_extracted_at

    from structure_facets,
        lateral flatten(input => structure_facets.payload:layers) as layer

),

facet_rows as (

    select
        file_version_id,
        relative_path,
        etag,
        cast(null as number(38, 0)) as layer_index,
        cast(null as number(38, 0)) as parent_layer_index,
        cast(null as number(38, 0)) as depth,
        cast(null as varchar) as layer_name,
        cast(null as varchar) as layer_kind,
        cast(null as boolean) as is_visible,
        cast(null as float) as opacity,
        cast(null as varchar) as blend_mode,
        cast(null as number(38, 0)) as bbox_left,
        cast(null as number(38, 0)) as bbox_top,
        cast(null as number(38, 0)) as bbox_right,
        cast(null as number(38, 0)) as bbox_bottom,
        extracted_at as facet_extracted_at

    from structure_facets

)

select * from layers
union all
select * from facet_rows
