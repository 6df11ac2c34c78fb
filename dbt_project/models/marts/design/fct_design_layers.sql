{#-
    The layers of every current file version (dim_design_files v2, not
    deleted): int_design_layers without its facet marker rows. A view: it
    stores nothing, so an overwritten or deleted file's layers drop out with
    the dim's merge, without any delete here.
-#}
with

current_versions as (

    select file_version_id from {{ ref('dim_design_files', v=2) }}

    where not is_deleted

),

layers as (

    select * from {{ ref('int_design_layers') }}

    where layer_index is not null

),

design_layers as (

    select
        ----------  ids
        layers.file_version_id,

        ---------- strings
        layers.relative_path,
        layers.etag,
        layers.layer_name,
        layers.layer_kind,
        layers.blend_mode,

        ---------- numerics
        layers.layer_index,
        layers.parent_layer_index,
        layers.depth,
        layers.opacity,
        layers.bbox_left,
        layers.bbox_top,
        layers.bbox_right,
        layers.bbox_bottom,

        ---------- booleans
        layers.is_visible

    from layers

    inner join current_versions
        on layers.file_version_id = current_versions.file_version_id

)

select * from design_layers
