-- A step settled these file versions (their outcome is merged, their retries
-- cleared): the re-processings that wait for that step on them are done with
-- it (select_files_to_extract / select_files_to_render leave them). Each call
-- carries one step (snowpark_procs/steps/common.py clear_retries), so a change
-- row meets one source row. Only the change sets of the runs that serve (or
-- served) a re-processing request are read: each run's changes are written
-- together, so a large raw.file_changes is pruned to them, and the every-batch
-- statement stays cheap when no re-processing is going on. Key: (run_id,
-- relative_path) of each re-processing's change set. Binds: batch JSON of
-- (relative_path, etag, step).
update raw.file_changes as target
set
    extract_redone_at = coalesce(
        target.extract_redone_at,
        case when source.step = 'extract_metadata' then sysdate() end
    ),
    render_redone_at = coalesce(
        target.render_redone_at,
        case when source.step = 'render_thumbnails' then sysdate() end
    )
from (
    select
        item.value:relative_path::varchar as relative_path,
        item.value:etag::varchar as etag,
        item.value:step::varchar as step
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
where
    target.relative_path = source.relative_path
    and target.etag = source.etag
    and target.change_type = 'reprocess'
    and target.run_id in (
        select requests.run_id
        from ops.run_requests as requests
        where requests.mode = 'reprocess'
    )
