{#-
    The dominant colours of every current file version (dim_design_files v2,
    not deleted), rank 1 the largest share: int_design_colors without its
    facet marker rows. A view, like fct_design_layers.
-#}
with

current_versions as (

    select file_version_id from {{ ref('dim_design_files', v=2) }}

    where not is_deleted

),

colors as (

    select * from {{ ref('int_design_colors') }}

    where color_rank is not null

),

design_colors as (

    select
        ----------  ids
        colors.file_version_id,

        ---------- strings
        colors.relative_path,
        colors.etag,
        colors.color_hex,

        ---------- numerics
        colors.color_rank,
        colors.share

    from colors

    inner join current_versions
        on colors.file_version_id = current_versions.file_version_id

)

select * from design_colors
