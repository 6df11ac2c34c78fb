-- One path's current version in the design mart: its header metadata, document
-- and visual facets, fonts and 256 px thumbnail (explain, the Files page).
-- Binds: path.
select
    files.file_version_id,
    files.relative_path,
    files.etag,
    files.format,
    files.width_px,
    files.height_px,
    files.size_bytes,
    files.is_valid,
    files.is_deleted,
    files.quarantine_reason_codes,
    files.thumbnail_256_key,
    files.creator_tool,
    files.document_id,
    files.instance_id,
    files.derived_from_document_id,
    files.title,
    files.author,
    files.icc_profile,
    files.color_space,
    files.uses_transparency,
    files.animation_duration_ms,
    files.loop_count,
    files.phash,
    files.thumbhash,
    files.dominant_color_hex,
    designs.fonts
from marts.dim_design_files_v2 as files
left join marts.mart_design_search as designs
    on files.file_version_id = designs.file_version_id
where files.relative_path = ?
