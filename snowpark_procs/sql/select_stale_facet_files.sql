-- The selection of a facet re-processing (`pixelforge reprocess --facet`):
-- the current file versions (current_file_versions.sql) under the prefix, of
-- the format ('' selects every one), that extraction read (status ok: a file
-- it could not read is quarantined and has no facets), whose sniffed format
-- the facet covers and whose raw.file_facets row for the facet is missing or
-- was produced by an older version of its extractor (a failed facet at the
-- current version is not stale: it failed for the file's reason). Discovered
-- by discover_selected_files.sql, counted by count_selected_files.sql (the
-- dry run, and per facet the nightly reconciliation's stale count).
-- Binds: the facet's formats (JSON array), facet, prefix, format, format, the
-- facet's current version (pixelforge_core/facets.py).
with covered as (
    select item.value::varchar as covered_format
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
)

select
    listed.relative_path,
    listed.etag,
    listed.size,
    listed.last_modified,
    listed.md5
from fragment.current_file_versions as listed
inner join raw.file_metadata as file_metadata
    on
        listed.relative_path = file_metadata.relative_path
        and listed.etag = file_metadata.etag
inner join covered
    on file_metadata.format = covered.covered_format
left join raw.file_facets as stored
    on
        listed.relative_path = stored.relative_path
        and listed.etag = stored.etag
        and stored.facet = ?
where
    startswith(listed.relative_path, ?)
    and (? = '' or file_metadata.format = ?)
    and file_metadata.status = 'ok'
    and coalesce(stored.facet_version < ?, true)
