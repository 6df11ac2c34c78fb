-- Step "discover" of a backfill or a re-processing: the file versions its
-- selection chose (select_backfill_files.sql: every file last modified in the
-- window; select_reprocess_files.sql: the current versions under a prefix, of
-- a format), put in place of `selected_files` by
-- snowpark_procs/steps/selections.py, which counts the same selection for the
-- dry runs. A step a re-processing does not redo is marked redone at once, so
-- the step's selection leaves its versions alone. Key: (run_id, relative_path).
-- Binds: run_id, change type, extraction not redone, rendering not redone
-- (booleans), then the selection's.
merge into raw.file_changes as target
using (
    select
        ? as run_id,
        selected_files.relative_path,
        selected_files.etag,
        selected_files.size,
        selected_files.last_modified,
        selected_files.md5,
        ? as change_type,
        case when ? then sysdate() end as extract_redone_at,
        case when ? then sysdate() end as render_redone_at
    from selected_files
) as source
    on
        target.run_id = source.run_id
        and target.relative_path = source.relative_path
when not matched then insert (
    run_id, relative_path, etag, size, last_modified, md5, change_type,
    discovered_at, extract_redone_at, render_redone_at
) values (
    source.run_id, source.relative_path, source.etag, source.size,
    source.last_modified, source.md5, source.change_type, sysdate(),
    source.extract_redone_at, source.render_redone_at
)
