-- The backlog's progress (pixelforge status, the dashboard's headline): file
-- paths left in the backlog now (uploaded, not yet queryable nor
-- quarantined), file versions done over the last finished runs (that left
-- the backlog, loaded or superseded, between the first's start and the
-- last's end), the rate over that wall time (the pauses between scheduled
-- runs included) and, at that rate, the time and runs the rest takes.
-- Binds: how many recent finished runs.
select
    runs,
    window_start,
    window_end,
    window_seconds,
    done_files,
    left_files,
    oldest_upload_at,
    done_files * 3600.0 / nullif(window_seconds, 0) as files_per_hour,
    left_files * window_seconds / nullif(done_files, 0) as eta_seconds,
    ceil(left_files * runs / nullif(done_files, 0)) as runs_left
from (
    select
        recent.runs,
        recent.window_start,
        recent.window_end,
        recent.window_seconds,
        waiting.left_files,
        waiting.oldest_upload_at,
        count(versions.file_version_id) as done_files
    from (
        select
            count(*) as runs,
            min(started_at) as window_start,
            max(ended_at) as window_end,
            datediff('second', min(started_at), max(ended_at))
                as window_seconds
        from (
            select
                started_at,
                ended_at
            from ops_marts.fct_pipeline_runs
            where ended_at is not null and started_at is not null
            order by ended_at desc
            limit ?
        ) as recent_runs
    ) as recent
    cross join (
        select
            count(case when is_in_backlog then 1 end) as left_files,
            min(case when is_in_backlog then last_modified_at end)
                as oldest_upload_at
        from ops_marts.dim_file_states
    ) as waiting
    left join ops_marts.fct_file_version_progress as versions
        on
            recent.window_start < versions.left_backlog_at
            and recent.window_end >= versions.left_backlog_at
    group by
        recent.runs,
        recent.window_start,
        recent.window_end,
        recent.window_seconds,
        waiting.left_files,
        waiting.oldest_upload_at
) as progress
