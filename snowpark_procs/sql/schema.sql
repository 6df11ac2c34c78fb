-- The pipeline's own tables: the one definition, applied locally by the stack
-- and rendered into the production deploy plan. Timestamps are UTC
-- (timestamp_ntz).

create schema if not exists raw;
create schema if not exists ops;

-- Directory state as of the last successful run: discovery diffs the directory
-- table against it, and only a successful run's finalizer advances it.
create table if not exists raw.directory_state (
    relative_path varchar not null,
    size number(38, 0),
    last_modified timestamp_ntz,
    md5 varchar,
    etag varchar not null,
    committed_run_id varchar not null,
    committed_at timestamp_ntz not null,
    primary key (relative_path)
);

-- The change set of each run (new, updated, deleted).
-- Key: (run_id, relative_path).
create table if not exists raw.file_changes (
    run_id varchar not null,
    relative_path varchar not null,
    etag varchar not null,
    size number(38, 0),
    last_modified timestamp_ntz,
    md5 varchar,
    change_type varchar not null,
    discovered_at timestamp_ntz not null,
    extract_redone_at timestamp_ntz,
    render_redone_at timestamp_ntz,
    primary key (run_id, relative_path)
);

-- A re-processing's change (change_type 'reprocess') waits for each step it
-- redoes until the step settles its version (mark_redone_files.sql): its
-- outputs are merged only where a value differs, so they cannot tell. These
-- came after the table's first version ("ALTER TABLE", ADD COLUMN IF NOT
-- EXISTS).
alter table raw.file_changes
add column if not exists extract_redone_at timestamp_ntz;
alter table raw.file_changes
add column if not exists render_redone_at timestamp_ntz;

-- One row per file version, key (relative_path, etag); failures are rows too.
create table if not exists raw.file_metadata (
    relative_path varchar not null,
    etag varchar not null,
    status varchar not null,
    reason_code varchar,
    error_message varchar,
    format varchar,
    width_px number(38, 0),
    height_px number(38, 0),
    mode varchar,
    bit_depth number(38, 0),
    dpi_x float,
    dpi_y float,
    frame_count number(38, 0),
    page_count number(38, 0),
    layer_count number(38, 0),
    exif variant,
    sha256 varchar,
    size_bytes number(38, 0),
    run_id varchar not null,
    extracted_at timestamp_ntz not null,
    primary key (relative_path, etag)
);

-- One row per file version and metadata facet (pixelforge_core/facets.py):
-- the version of the facet's extractor that produced it, and what it found
-- (payload: the facet's JSON object). A format a facet does not cover has no
-- row. Key: (relative_path, etag, facet).
create table if not exists raw.file_facets (
    relative_path varchar not null,
    etag varchar not null,
    facet varchar not null,
    facet_version number(38, 0) not null,
    status varchar not null,
    reason_code varchar,
    error_message varchar,
    payload variant,
    run_id varchar not null,
    extracted_at timestamp_ntz not null,
    primary key (relative_path, etag, facet)
);

-- One row per file version and thumbnail size.
-- Key: (relative_path, etag, size_px).
create table if not exists raw.thumbnails (
    relative_path varchar not null,
    etag varchar not null,
    size_px number(38, 0) not null,
    status varchar not null,
    reason_code varchar,
    error_message varchar,
    thumbnail_key varchar,
    width_px number(38, 0),
    height_px number(38, 0),
    thumbnail_bytes number(38, 0),
    run_id varchar not null,
    rendered_at timestamp_ntz not null,
    primary key (relative_path, etag, size_px)
);

-- File versions whose last attempt at a step failed for a transient reason
-- (the file's read or render hit an unavailable service); later runs retry
-- them until the attempts run out. Key: (relative_path, etag, step).
create table if not exists raw.file_retries (
    relative_path varchar not null,
    etag varchar not null,
    step varchar not null,
    attempts number(38, 0) not null,
    reason_code varchar,
    error_message varchar,
    run_id varchar not null,
    failed_at timestamp_ntz not null,
    primary key (relative_path, etag, step)
);

-- Run history: the local runner records each run as it starts (and the
-- SKIPPED ones); the finalizer records its outcome, locally and in
-- production. Key run_id.
create table if not exists ops.pipeline_runs (
    run_id varchar not null,
    kind varchar not null,
    scheduled_at timestamp_ntz not null,
    started_at timestamp_ntz,
    ended_at timestamp_ntz,
    state varchar not null,
    files_discovered number(38, 0),
    files_succeeded number(38, 0),
    files_failed number(38, 0),
    error_message varchar,
    config variant,
    request_id varchar,
    primary key (run_id)
);

-- request_id (the request a backfill or reconcile run served) came after the
-- table's first version: tables created before get it here ("ALTER TABLE",
-- ADD COLUMN IF NOT EXISTS).
alter table ops.pipeline_runs add column if not exists request_id varchar;

-- Backfill, reconciliation and re-processing requests, drained by the task
-- graph one per run, oldest first. OPS.BACKFILL, OPS.REPROCESS, the nightly
-- reconciliation task and `pixelforge backfill / reconcile / reprocess`
-- insert them (EXECUTE TASK ... USING
-- CONFIG would replace a config still queued); the discover step claims one
-- (RUNNING, run_id) and the run takes its mode; the finalizer marks it DONE,
-- or PENDING again after a failed run, FAILED once its attempts are spent.
-- Key: request_id.
create table if not exists ops.run_requests (
    request_id varchar not null,
    mode varchar not null,
    window_start timestamp_ntz,
    window_end timestamp_ntz,
    redo_steps varchar,
    path_prefix varchar,
    format_filter varchar,
    redo_facet varchar,
    requested_at timestamp_ntz not null,
    state varchar not null,
    attempts number(38, 0) not null,
    run_id varchar,
    claimed_at timestamp_ntz,
    finished_at timestamp_ntz,
    error_message varchar,
    primary key (request_id)
);

-- A re-processing's steps (comma-separated, orchestration/graph.py names) and
-- filters, after the table's first version.
alter table ops.run_requests add column if not exists redo_steps varchar;
alter table ops.run_requests add column if not exists path_prefix varchar;
alter table ops.run_requests add column if not exists format_filter varchar;
-- A facet re-processing's facet (pixelforge_core/facets.py; null otherwise).
alter table ops.run_requests add column if not exists redo_facet varchar;

-- One row per step attempt; key (run_id, step, attempt).
create table if not exists ops.step_runs (
    run_id varchar not null,
    step varchar not null,
    attempt number(38, 0) not null,
    state varchar not null,
    started_at timestamp_ntz,
    ended_at timestamp_ntz,
    files_in number(38, 0),
    files_succeeded number(38, 0),
    files_failed number(38, 0),
    error_message varchar,
    primary key (run_id, step, attempt)
);

-- What each nightly reconciliation found; key (run_id, check_name).
create table if not exists ops.reconciliation_checks (
    run_id varchar not null,
    check_name varchar not null,
    files number(38, 0) not null,
    checked_at timestamp_ntz not null,
    primary key (run_id, check_name)
);

-- Directory-table events, appended by the production root task as it consumes
-- raw.designs_stream (the local stack has no stream: the table stays empty).
-- `action` is the stream's METADATA$ACTION under its own name.
-- noqa: disable=RF04
create table if not exists ops.directory_events (
    relative_path varchar not null,
    etag varchar,
    size number(38, 0),
    action varchar not null,
    is_update boolean not null,
    run_id varchar not null,
    observed_at timestamp_ntz not null
);
-- noqa: enable=RF04

-- ACCOUNT_USAGE.TASK_HISTORY copied hourly in production (key:
-- graph_run_group_id, attempt_number, name), so task runs stay queryable for as
-- long as this table keeps them (365 days+); ops.task_history reads it there.
-- Locally ops.task_history is the runner's view (orchestration/local/
-- objects.sql) and this table stays empty.
create table if not exists ops.task_history_archive (
    query_id varchar,
    name varchar not null,
    database_name varchar,
    schema_name varchar,
    query_text varchar,
    condition_text varchar,
    state varchar not null,
    error_code varchar,
    error_message varchar,
    scheduled_time timestamp_ntz,
    query_start_time timestamp_ntz,
    next_scheduled_time timestamp_ntz,
    completed_time timestamp_ntz,
    root_task_id varchar,
    graph_version number(38, 0),
    run_id number(38, 0),
    return_value varchar,
    scheduled_from varchar,
    attempt_number number(38, 0) not null,
    config varchar,
    graph_run_group_id varchar not null,
    copied_at timestamp_ntz not null,
    primary key (graph_run_group_id, attempt_number, name)
);
