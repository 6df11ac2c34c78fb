-- Reconciliation: forget the thumbnail rows whose object is gone from the
-- thumbnails bucket (per its directory table), so the render step writes the
-- object again. Key: (relative_path, etag, size_px).
merge into raw.thumbnails as target
using (
    select
        thumbnails.relative_path,
        thumbnails.etag,
        thumbnails.size_px
    from raw.thumbnails as thumbnails
    left join raw.thumbnails_directory as stored
        on thumbnails.thumbnail_key = stored.relative_path
    where thumbnails.status = 'ok' and stored.relative_path is null
) as source
    on
        target.relative_path = source.relative_path
        and target.etag = source.etag
        and target.size_px = source.size_px
when matched then delete
