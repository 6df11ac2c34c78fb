-- Finalizer of a successful run: advance the committed directory state by the
-- run's change set (and only by it: files that arrived during the run wait for
-- the next one). Key: relative_path. Binds: run_id.
merge into raw.directory_state as target
using (
    select
        run_id,
        relative_path,
        etag,
        size,
        last_modified,
        md5,
        change_type
    from raw.file_changes
    where run_id = ?
) as source
    on target.relative_path = source.relative_path
when matched and source.change_type = 'deleted' then delete
when matched then
    update set
        etag = source.etag,
        size = source.size,
        last_modified = source.last_modified,
        md5 = source.md5,
        committed_run_id = source.run_id,
        committed_at = sysdate()
when not matched and source.change_type <> 'deleted' then insert (
    relative_path, size, last_modified, md5, etag, committed_run_id,
    committed_at
) values (
    source.relative_path, source.size, source.last_modified, source.md5,
    source.etag, source.run_id, sysdate()
)
