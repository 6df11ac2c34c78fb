-- Step "extract_metadata": the file versions waiting for a metadata row, one
-- set-based statement, new uploads first (one lane, see below):
--   priority 0: the run's new, updated or repaired versions no earlier run
--               discovered (a backfill's: its window), oldest upload first;
--   priority 1: the run's versions a failed run since the last successful
--               one discovered too, newest upload first;
--   priority 2: the backlog earlier bounded runs left, oldest upload first:
--               committed versions the designs directory still lists at that
--               ETag (a successful run commits its whole change set, done or
--               not), versions of finished backfills' windows and
--               re-processings, and versions waiting for a retry.
-- A backfill's version is pending until re-extracted after its discovery, a
-- re-processing's (priority 0 too) until extraction settled it
-- (extract_redone_at; set at its discovery when it does not redo extraction);
-- any other until it has a row. A facet re-processing's version (its
-- request's redo_facet) carries that facet as redo_facet: extraction computes
-- it alone, unless another reason to extract the version asks for all of
-- them (redo_facet null). Versions whose retry this run recorded (or
-- whose attempt this run charged before parsing) wait for a later run.
-- Suspects come last: versions whose attempt an earlier run charged before
-- parsing and never settled (reason 'extraction_incomplete', the handler's
-- EXTRACTION_INCOMPLETE: that run died or was stopped while parsing them), the
-- fewest attempts first; the handler parses each alone. Each row carries its
-- retry state (retry_*: null without one). pending_files is the whole backlog,
-- whatever the limit.
-- Why priority 1: a failed run commits nothing, so the next run discovers its
-- change set again with everything it had not finished (after a failed first
-- run: the whole bucket); as "the run's changes" those would come before, or
-- oldest first among, files uploaded since. Taken after the versions first
-- seen now, newest upload first (an upload's LAST_MODIFIED is its upload
-- time), they do not. A change set is priority 0 or 1 only until a run
-- succeeds; then it is committed backlog, drained oldest first, so every
-- version's wait is bounded.
-- Why one lane, not a separate lane for new uploads: one task graph keeps one
-- no-overlap policy, one discovery state and one writer per table, with no
-- second graph and warehouse and no two writers on the same versions; the new
-- uploads take their share of each run's budget first (a 15-minute run's are
-- a small part of it), the backlog the rest. See docs/runbook.md "Backlog".
-- Binds: run_id, rows to return.
with this_run as (
    select ? as run_id
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
        case
            when file_changes.change_type = 'backfill'
                then file_changes.discovered_at
        end as redo_after,
        coalesce(
            file_changes.change_type = 'reprocess'
            and file_changes.extract_redone_at is null,
            false
        ) as redo,
        case
            when file_changes.change_type = 'reprocess' then requests.redo_facet
        end as redo_facet
    from raw.file_changes as file_changes
    inner join this_run on file_changes.run_id = this_run.run_id
    left join ops.run_requests as requests
        on
            file_changes.run_id = requests.run_id
            and requests.mode = 'reprocess'
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
        cast(null as timestamp_ntz) as redo_after,
        false as redo,
        cast(null as varchar) as redo_facet
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
        case
            when file_changes.change_type = 'backfill'
                then file_changes.discovered_at
        end as redo_after,
        coalesce(
            file_changes.change_type = 'reprocess'
            and file_changes.extract_redone_at is null,
            false
        ) as redo,
        case
            when file_changes.change_type = 'reprocess' then requests.redo_facet
        end as redo_facet
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
        cast(null as timestamp_ntz) as redo_after,
        false as redo,
        cast(null as varchar) as redo_facet
    from raw.file_retries
    where step = 'extract_metadata'
),

tried_this_run as (
    select
        retries.relative_path,
        retries.etag
    from raw.file_retries as retries
    inner join this_run on retries.run_id = this_run.run_id
    where retries.step = 'extract_metadata'
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

pending as (
    select
        candidates.relative_path,
        candidates.etag,
        min(candidates.priority) as priority,
        max(candidates.last_modified) as last_modified,
        -- one facet when every reason to extract it is a re-processing of
        -- that facet; otherwise (null) every facet
        case
            when
                count_if(candidates.redo_facet is null) = 0
                and min(candidates.redo_facet) = max(candidates.redo_facet)
                then min(candidates.redo_facet)
        end as redo_facet
    from candidates
    left join raw.file_metadata as file_metadata
        on
            candidates.relative_path = file_metadata.relative_path
            and candidates.etag = file_metadata.etag
    left join tried_this_run
        on
            candidates.relative_path = tried_this_run.relative_path
            and candidates.etag = tried_this_run.etag
    where
        tried_this_run.relative_path is null
        and (
            file_metadata.relative_path is null
            or file_metadata.extracted_at < candidates.redo_after
            or candidates.redo
        )
    group by candidates.relative_path, candidates.etag
)

select
    pending.relative_path,
    pending.etag,
    pending.priority,
    pending.redo_facet,
    retries.attempts as retry_attempts,
    retries.reason_code as retry_reason_code,
    retries.error_message as retry_error_message,
    retries.run_id as retry_run_id,
    count(*) over () as pending_files
from pending
left join raw.file_retries as retries
    on
        pending.relative_path = retries.relative_path
        and pending.etag = retries.etag
        and retries.step = 'extract_metadata'
order by
    case
        when retries.reason_code = 'extraction_incomplete' then retries.attempts
        else 0
    end asc,
    pending.priority asc,
    case
        when pending.priority = 1 then pending.last_modified
    end desc nulls last,
    pending.last_modified asc nulls last,
    pending.relative_path asc
limit ?
