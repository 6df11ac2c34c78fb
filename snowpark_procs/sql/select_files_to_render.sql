-- Step "render_thumbnails": the readable file versions waiting for their
-- thumbnails, one set-based statement, new uploads first (the same
-- candidates, priorities and order as select_files_to_extract, which says
-- why):
--   the run's versions and those waiting for a retry lack a successful
--   thumbnail for some size; the backlog lacks a row (any outcome) for some
--   size; a backfill's version is pending until re-rendered after its
--   discovery, a re-processing's until rendering settled it
--   (render_redone_at; set at its discovery when it does not redo rendering,
--   and then it asks nothing of the thumbnails). Versions whose retry this
--   run recorded wait for a later run.
-- pending_files is the whole backlog, whatever the limit.
-- Binds: run_id, number of sizes, rows to return.
with this_run as (
    select
        ? as run_id,
        ? as sizes
),

last_commit as (
    select
        coalesce(
            max(committed_at), cast('1970-01-01' as timestamp_ntz)
        ) as committed_at
    from raw.directory_state
),

-- Discovered by a run since the last commit: a failed run's change set (what
-- a run discovers again), not the whole history (pruned by discovered_at).
seen_before as (
    select distinct
        earlier.relative_path,
        earlier.etag
    from raw.file_changes as earlier
    inner join this_run on earlier.run_id <> this_run.run_id
    inner join last_commit
        on earlier.discovered_at > last_commit.committed_at
    where earlier.change_type <> 'deleted'
),

run_changes as (
    select
        file_changes.relative_path,
        file_changes.etag,
        file_changes.last_modified,
        case
            when
                file_changes.change_type in ('backfill', 'reprocess')
                or seen_before.relative_path is null
                then 0
            else 1
        end as priority,
        file_changes.change_type <> 'reprocess' as needs_success,
        case
            when file_changes.change_type = 'backfill'
                then file_changes.discovered_at
        end as redo_after,
        coalesce(
            file_changes.change_type = 'reprocess'
            and file_changes.render_redone_at is null,
            false
        ) as redo
    from raw.file_changes as file_changes
    inner join this_run on file_changes.run_id = this_run.run_id
    left join seen_before
        on
            file_changes.relative_path = seen_before.relative_path
            and file_changes.etag = seen_before.etag
    where file_changes.change_type <> 'deleted'
),

committed_backlog as (
    select
        committed.relative_path,
        committed.etag,
        listed.last_modified,
        2 as priority,
        false as needs_success,
        cast(null as timestamp_ntz) as redo_after,
        false as redo
    from raw.directory_state as committed
    inner join raw.designs_directory as listed
        on
            committed.relative_path = listed.relative_path
            and committed.etag = listed.etag
),

backfill_backlog as (
    select
        file_changes.relative_path,
        file_changes.etag,
        listed.last_modified,
        2 as priority,
        false as needs_success,
        case
            when file_changes.change_type = 'backfill'
                then file_changes.discovered_at
        end as redo_after,
        coalesce(
            file_changes.change_type = 'reprocess'
            and file_changes.render_redone_at is null,
            false
        ) as redo
    from raw.file_changes as file_changes
    inner join ops.run_requests as requests
        on file_changes.run_id = requests.run_id
    inner join raw.designs_directory as listed
        on
            file_changes.relative_path = listed.relative_path
            and file_changes.etag = listed.etag
    where
        file_changes.change_type in ('backfill', 'reprocess')
        and requests.mode = file_changes.change_type
        and requests.state = 'DONE'
),

retrying as (
    select
        relative_path,
        etag,
        cast(null as timestamp_ntz) as last_modified,
        2 as priority,
        true as needs_success,
        cast(null as timestamp_ntz) as redo_after,
        false as redo
    from raw.file_retries
    where step = 'render_thumbnails'
),

tried_this_run as (
    select
        retries.relative_path,
        retries.etag
    from raw.file_retries as retries
    inner join this_run on retries.run_id = this_run.run_id
    where retries.step = 'render_thumbnails'
),

candidates as (
    select * from run_changes
    union all
    select * from committed_backlog
    union all
    select * from backfill_backlog
    union all
    select * from retrying
),

rendered as (
    select
        relative_path,
        etag,
        count(*) as recorded_sizes,
        count_if(status = 'ok') as ok_sizes,
        min(rendered_at) as first_rendered_at
    from raw.thumbnails
    group by relative_path, etag
),

pending as (
    select
        file_metadata.relative_path,
        file_metadata.etag,
        file_metadata.sha256,
        file_metadata.size_bytes,
        min(candidates.priority) as priority,
        max(candidates.last_modified) as last_modified
    from candidates
    cross join this_run
    inner join raw.file_metadata as file_metadata
        on
            candidates.relative_path = file_metadata.relative_path
            and candidates.etag = file_metadata.etag
    left join rendered
        on
            candidates.relative_path = rendered.relative_path
            and candidates.etag = rendered.etag
    left join tried_this_run
        on
            candidates.relative_path = tried_this_run.relative_path
            and candidates.etag = tried_this_run.etag
    where
        file_metadata.status = 'ok'
        and tried_this_run.relative_path is null
        and (
            coalesce(rendered.first_rendered_at < candidates.redo_after, false)
            or candidates.redo
            or coalesce(
                case
                    when candidates.needs_success then rendered.ok_sizes
                    else rendered.recorded_sizes
                end,
                0
            ) < this_run.sizes
        )
    group by
        file_metadata.relative_path,
        file_metadata.etag,
        file_metadata.sha256,
        file_metadata.size_bytes
)

select
    relative_path,
    etag,
    sha256,
    size_bytes,
    priority,
    count(*) over () as pending_files
from pending
order by
    priority asc,
    case when priority = 1 then last_modified end desc nulls last,
    last_modified asc nulls last,
    relative_path asc
limit ?
