-- Fragment: the versions of the including MERGE's `batch_rows` that a backfill
-- discovered, with the latest time it did (redo_after): their rows are
-- rewritten when written before it, as a backfill redoes its window (README).
-- Only the change sets of runs that serve a backfill request are read
-- (raw.file_changes is pruned to them: each run's changes are written
-- together). Its one definition: merge_file_metadata.sql and
-- merge_thumbnails.sql read it as `fragment.backfilled_versions`, which
-- read_sql puts in place as a derived table (snowpark_procs/sql/__init__.py).
-- No binds.
select
    file_changes.relative_path,
    file_changes.etag,
    max(file_changes.discovered_at) as redo_after
from raw.file_changes as file_changes
inner join ops.run_requests as requests
    on file_changes.run_id = requests.run_id
inner join batch_rows
    on
        file_changes.relative_path = batch_rows.relative_path
        and file_changes.etag = batch_rows.etag
where
    file_changes.change_type = 'backfill'
    and requests.mode = 'backfill'
group by file_changes.relative_path, file_changes.etag
