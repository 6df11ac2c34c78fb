-- Reconciliation: thumbnail objects no successful thumbnail row refers to
-- (left by overwritten or deleted files; lifecycle rules may expire them).
with referenced as (
    select distinct thumbnail_key
    from raw.thumbnails
    where status = 'ok'
)

select count(*) as files
from raw.thumbnails_directory as stored
left join referenced
    on stored.relative_path = referenced.thumbnail_key
where
    referenced.thumbnail_key is null
    and stored.relative_path like 'v1/%'
