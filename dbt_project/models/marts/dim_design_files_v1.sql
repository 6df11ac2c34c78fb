{#-
    Version 1 of dim_design_files, the relation marts.dim_design_files as
    before version 2: its columns, in their order, over version 2's table
    (one owner of the logic; a view stores nothing).
-#}
with

design_files as (

    select * from {{ ref('dim_design_files', v=2) }}

)

select
    relative_path,
    file_version_id,
    etag,
    md5,
    change_type,
    format,
    thumbnail_256_key,
    thumbnail_1024_key,
    quarantine_reason_codes,
    size_bytes,
    width_px,
    height_px,
    is_deleted,
    is_valid,
    last_modified_at,
    discovered_at,
    deleted_at,
    extracted_at,
    thumbnails_rendered_at,
    checked_at,
    loaded_at

from design_files
