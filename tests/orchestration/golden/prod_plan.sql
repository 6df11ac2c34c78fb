-- ==== database ====
create database if not exists pixelforge;
use database pixelforge;

-- ==== tables (snowpark_procs/sql/schema.sql) ====
create schema if not exists raw;
create schema if not exists ops;
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
alter table raw.file_changes
add column if not exists extract_redone_at timestamp_ntz;
alter table raw.file_changes
add column if not exists render_redone_at timestamp_ntz;
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
alter table ops.pipeline_runs add column if not exists request_id varchar;
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
alter table ops.run_requests add column if not exists redo_steps varchar;
alter table ops.run_requests add column if not exists path_prefix varchar;
alter table ops.run_requests add column if not exists format_filter varchar;
alter table ops.run_requests add column if not exists redo_facet varchar;
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
create table if not exists ops.reconciliation_checks (
    run_id varchar not null,
    check_name varchar not null,
    files number(38, 0) not null,
    checked_at timestamp_ntz not null,
    primary key (run_id, check_name)
);
create table if not exists ops.directory_events (
    relative_path varchar not null,
    etag varchar,
    size number(38, 0),
    action varchar not null,
    is_update boolean not null,
    run_id varchar not null,
    observed_at timestamp_ntz not null
);
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
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
create schema if not exists ops_marts;
-- The production ops.task_history: the archived TASK_HISTORY with the local view's columns
-- (orchestration/local/objects.sql), so operators' queries read the same everywhere.
create or replace view ops.task_history as
select
    query_id,
    name,
    database_name,
    schema_name,
    query_text,
    condition_text,
    state,
    try_to_number(error_code) as error_code,
    error_message,
    scheduled_time,
    query_start_time,
    next_scheduled_time,
    completed_time,
    root_task_id,
    graph_version,
    graph_run_group_id,
    attempt_number,
    try_parse_json(config) as config,
    scheduled_from
from ops.task_history_archive;

-- ==== warehouse ====
create warehouse if not exists pixelforge_transform_wh
    warehouse_size = 'XSMALL'
    auto_suspend = 60
    auto_resume = true
    initially_suspended = true;
alter warehouse pixelforge_transform_wh set
    warehouse_size = 'XSMALL'
    auto_suspend = 60;

-- ==== integrations ====
-- Created once, then altered: re-creating an integration changes its external id and breaks the
-- IAM trust policies (docs/deploy.md, the handshake).
create storage integration if not exists pixelforge_designs
    type = external_stage
    storage_provider = 'S3'
    enabled = true
    storage_aws_role_arn = '<PIXELFORGE_STORAGE_ROLE_ARN>'
    storage_allowed_locations = ('s3://<PIXELFORGE_DESIGNS_BUCKET>/', 's3://<PIXELFORGE_THUMBNAILS_BUCKET>/');
alter storage integration pixelforge_designs set
    storage_aws_role_arn = '<PIXELFORGE_STORAGE_ROLE_ARN>'
    storage_allowed_locations = ('s3://<PIXELFORGE_DESIGNS_BUCKET>/', 's3://<PIXELFORGE_THUMBNAILS_BUCKET>/');
-- No ALTER here or for the notification integrations (sqlfluff cannot parse ALTER API or
-- NOTIFICATION INTEGRATION): docs/deploy.md gives the manual ALTER for a changed URL or ARN.
create api integration if not exists pixelforge_render_api
    api_provider = aws_api_gateway
    api_aws_role_arn = '<PIXELFORGE_RENDER_API_ROLE_ARN>'
    api_allowed_prefixes = ('<PIXELFORGE_RENDER_API_URL>')
    enabled = true;
create notification integration if not exists pixelforge_alerts
    enabled = true
    type = queue
    direction = outbound
    notification_provider = aws_sns
    aws_sns_topic_arn = '<PIXELFORGE_ALERTS_TOPIC_ARN>'
    aws_sns_role_arn = '<PIXELFORGE_SNS_ROLE_ARN>';
create notification integration if not exists pixelforge_heartbeat
    enabled = true
    type = queue
    direction = outbound
    notification_provider = aws_sns
    aws_sns_topic_arn = '<PIXELFORGE_HEARTBEAT_TOPIC_ARN>'
    aws_sns_role_arn = '<PIXELFORGE_SNS_ROLE_ARN>';

-- ==== artifact stage ====
create stage if not exists ops.deploy_artifacts
    encryption = (type = 'SNOWFLAKE_SSE')
    directory = (enable = true);

-- ==== artifacts (built by --apply; PUT by the deploying role, which owns the stage) ====
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/snowpark_procs.zip' '@ops.deploy_artifacts/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/*.*' '@ops.deploy_artifacts/dbt/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/macros/*.*' '@ops.deploy_artifacts/dbt/dbt_project/macros/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/intermediate/facets/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/intermediate/facets/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/intermediate/near_duplicates/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/intermediate/near_duplicates/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/intermediate/validation/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/intermediate/validation/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/marts/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/marts/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/marts/design/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/marts/design/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/ops/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/ops/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/ops/marts/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/ops/marts/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/ops/staging/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/ops/staging/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/models/staging/pixelforge/*.*' '@ops.deploy_artifacts/dbt/dbt_project/models/staging/pixelforge/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/seeds/*.*' '@ops.deploy_artifacts/dbt/dbt_project/seeds/' auto_compress = false overwrite = true;
put 'file://<PIXELFORGE_DEPLOY_ARTIFACT_DIR>/dbt/dbt_project/tests/*.*' '@ops.deploy_artifacts/dbt/dbt_project/tests/' auto_compress = false overwrite = true;

-- ==== roles and grants ====
create role if not exists pixelforge_loader;
create role if not exists pixelforge_transformer;
create role if not exists pixelforge_operator;
create role if not exists pixelforge_render;
create role if not exists pixelforge_orchestrator;
grant role pixelforge_loader to role pixelforge_orchestrator;
grant role pixelforge_transformer to role pixelforge_orchestrator;
grant role pixelforge_orchestrator to role sysadmin;
grant role pixelforge_render to role sysadmin;
grant role pixelforge_operator to role sysadmin;
grant usage on database pixelforge to role pixelforge_loader;
grant usage on database pixelforge to role pixelforge_transformer;
grant usage on database pixelforge to role pixelforge_operator;
grant usage on database pixelforge to role pixelforge_render;
grant usage on database pixelforge to role pixelforge_orchestrator;
grant usage, create procedure, create function on schema pixelforge.raw to role pixelforge_loader;
grant select, insert, update, delete on all tables in schema pixelforge.raw to role pixelforge_loader;
grant select, insert, update, delete on future tables in schema pixelforge.raw to role pixelforge_loader;
grant select on all views in schema pixelforge.raw to role pixelforge_loader;
grant usage on schema pixelforge.ops to role pixelforge_loader;
grant usage on integration pixelforge_heartbeat to role pixelforge_loader;
grant select, insert, update on table pixelforge.ops.reconciliation_checks to role pixelforge_loader;
grant select, insert, update on table pixelforge.ops.pipeline_runs to role pixelforge_loader;
grant select, insert, update on table pixelforge.ops.run_requests to role pixelforge_loader;
grant read on stage pixelforge.ops.deploy_artifacts to role pixelforge_loader;
grant usage, create function on schema pixelforge.raw to role pixelforge_render;
grant usage on integration pixelforge_render_api to role pixelforge_render;
grant usage on schema pixelforge.raw to role pixelforge_transformer;
grant select on all tables in schema pixelforge.raw to role pixelforge_transformer;
grant select on future tables in schema pixelforge.raw to role pixelforge_transformer;
grant select on all views in schema pixelforge.raw to role pixelforge_transformer;
grant usage, create table, create view on schema pixelforge.staging to role pixelforge_transformer;
grant usage, create table, create view on schema pixelforge.intermediate to role pixelforge_transformer;
grant usage, create table, create view on schema pixelforge.marts to role pixelforge_transformer;
grant usage, create table, create view on schema pixelforge.ops_marts to role pixelforge_transformer;
grant usage on schema pixelforge.ops to role pixelforge_transformer;
grant select on all tables in schema pixelforge.ops to role pixelforge_transformer;
grant select on future tables in schema pixelforge.ops to role pixelforge_transformer;
grant select on all views in schema pixelforge.ops to role pixelforge_transformer;
grant select on future views in schema pixelforge.ops to role pixelforge_transformer;
grant usage on warehouse pixelforge_transform_wh to role pixelforge_transformer;
grant usage, create stage, create stream, create view on schema pixelforge.raw to role pixelforge_orchestrator;
grant usage, create task, create procedure, create dbt project on schema pixelforge.ops to role pixelforge_orchestrator;
grant create alert on schema pixelforge.ops to role pixelforge_orchestrator;
grant select, insert, update on all tables in schema pixelforge.ops to role pixelforge_orchestrator;
grant select, insert, update on future tables in schema pixelforge.ops to role pixelforge_orchestrator;
grant read on stage pixelforge.ops.deploy_artifacts to role pixelforge_orchestrator;
grant usage, operate on warehouse pixelforge_transform_wh to role pixelforge_orchestrator;
grant usage on integration pixelforge_designs to role pixelforge_orchestrator;
grant usage on integration pixelforge_alerts to role pixelforge_orchestrator;
grant usage on integration pixelforge_heartbeat to role pixelforge_orchestrator;
grant execute task, execute managed task, execute alert on account to role pixelforge_orchestrator;
grant execute managed alert on account to role pixelforge_orchestrator;
grant usage on schema pixelforge.marts to role pixelforge_operator;
grant usage on schema pixelforge.marts to role pixelforge_orchestrator;
grant usage on schema pixelforge.ops_marts to role pixelforge_operator;
grant usage on schema pixelforge.ops_marts to role pixelforge_orchestrator;
grant usage on schema pixelforge.ops to role pixelforge_operator;
grant usage on schema pixelforge.ops to role pixelforge_orchestrator;
grant select on all tables in schema pixelforge.marts to role pixelforge_operator;
grant select on all tables in schema pixelforge.marts to role pixelforge_orchestrator;
grant select on future tables in schema pixelforge.marts to role pixelforge_operator;
grant select on future tables in schema pixelforge.marts to role pixelforge_orchestrator;
grant select on all views in schema pixelforge.marts to role pixelforge_operator;
grant select on all views in schema pixelforge.marts to role pixelforge_orchestrator;
grant select on future views in schema pixelforge.marts to role pixelforge_operator;
grant select on future views in schema pixelforge.marts to role pixelforge_orchestrator;
grant select on all tables in schema pixelforge.ops_marts to role pixelforge_operator;
grant select on all tables in schema pixelforge.ops_marts to role pixelforge_orchestrator;
grant select on future tables in schema pixelforge.ops_marts to role pixelforge_operator;
grant select on future tables in schema pixelforge.ops_marts to role pixelforge_orchestrator;
grant select on all views in schema pixelforge.ops_marts to role pixelforge_operator;
grant select on all views in schema pixelforge.ops_marts to role pixelforge_orchestrator;
grant select on future views in schema pixelforge.ops_marts to role pixelforge_operator;
grant select on future views in schema pixelforge.ops_marts to role pixelforge_orchestrator;
grant select on all tables in schema pixelforge.ops to role pixelforge_operator;
grant select on all tables in schema pixelforge.ops to role pixelforge_orchestrator;
grant select on future tables in schema pixelforge.ops to role pixelforge_operator;
grant select on future tables in schema pixelforge.ops to role pixelforge_orchestrator;
grant select on all views in schema pixelforge.ops to role pixelforge_operator;
grant select on all views in schema pixelforge.ops to role pixelforge_orchestrator;
grant select on future views in schema pixelforge.ops to role pixelforge_operator;
grant select on future views in schema pixelforge.ops to role pixelforge_orchestrator;
grant usage on warehouse pixelforge_transform_wh to role pixelforge_operator;
grant create cortex search service on schema pixelforge.marts to role pixelforge_transformer;
grant database role snowflake.usage_viewer to role pixelforge_orchestrator;
grant database role snowflake.alert_viewer to role pixelforge_orchestrator;
grant database role snowflake.pypi_repository_user to role pixelforge_loader;
grant database role snowflake.pypi_repository_user to role pixelforge_orchestrator;
grant database role snowflake.cortex_user to role pixelforge_transformer;
grant database role snowflake.cortex_user to role pixelforge_operator;

-- ==== suspend the task graphs before changing them ====
alter task if exists ops.pixelforge_root suspend;
alter task if exists ops.pixelforge_reconcile suspend;
alter task if exists ops.pixelforge_archive_task_history suspend;

-- ==== designs stage (owned by the orchestrator, which refreshes it) ====
use role pixelforge_orchestrator;
create stage if not exists raw.designs_stage
    url = 's3://<PIXELFORGE_DESIGNS_BUCKET>/'
    storage_integration = pixelforge_designs
    directory = (enable = true auto_refresh = true);
create stream if not exists raw.designs_stream on stage raw.designs_stage;
-- DIRECTORY(@raw.designs_stage) as the handlers read it: DIRECTORY's columns in its order,
-- last_modified as UTC timestamp_ntz; the local table has the same (test_local_counterparts).
create or replace view raw.designs_directory as
select
    relative_path,
    size,
    convert_timezone('UTC', last_modified)::timestamp_ntz as last_modified,
    md5,
    etag
from directory(@raw.designs_stage);
-- The thumbnails bucket, listed only: the nightly reconciliation compares its directory with
-- raw.thumbnails (lost and orphaned objects). No auto-refresh: the reconciliation task refreshes
-- it right before it runs.
create stage if not exists raw.thumbnails_stage
    url = 's3://<PIXELFORGE_THUMBNAILS_BUCKET>/'
    storage_integration = pixelforge_designs
    directory = (enable = true auto_refresh = false);
create or replace view raw.thumbnails_directory as
select
    relative_path,
    size,
    convert_timezone('UTC', last_modified)::timestamp_ntz as last_modified,
    md5,
    etag
from directory(@raw.thumbnails_stage);
grant usage on stage pixelforge.raw.designs_stage to role pixelforge_loader;
grant select on view pixelforge.raw.designs_directory to role pixelforge_loader;
grant select on view pixelforge.raw.designs_directory to role pixelforge_transformer;
grant usage on stage pixelforge.raw.thumbnails_stage to role pixelforge_loader;
grant select on view pixelforge.raw.thumbnails_directory to role pixelforge_loader;

-- ==== procedures and functions (snowpark_procs/snowflake.yml) ====
use role pixelforge_loader;
-- Overloads an earlier plan created with another argument list, dropped before their replacements
-- are created (orchestration/deploy/names.py says why).
drop function if exists raw.extract_file_metadata(varchar, varchar, varchar, varchar, float);
-- A Python UDF the procedures call set-based: the warehouse runs it over a statement's rows on its
-- nodes and interpreter processes (snowpark_procs/udf_extract.py says why a scalar UDF).
create or replace function raw.extract_file_metadata(scoped_url varchar, relative_path varchar, etag varchar, run_id varchar, limit_s float, facets varchar)
    copy grants
    returns object
    language python
    volatile
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.udf_extract.extract_file_metadata';
create or replace procedure raw.discover(run_id varchar, config_json varchar)
    copy grants
    returns varchar
    language python
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.handlers.discover'
    execute as owner;
create or replace procedure raw.extract_metadata(run_id varchar, config_json varchar)
    copy grants
    returns varchar
    language python
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.handlers.extract_metadata'
    execute as owner;
create or replace procedure raw.render_thumbnails(run_id varchar, config_json varchar)
    copy grants
    returns varchar
    language python
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.handlers.render_thumbnails'
    execute as owner;
create or replace procedure raw.finalize(run_id varchar, config_json varchar)
    copy grants
    returns varchar
    language python
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.handlers.finalize'
    execute as owner;
create or replace procedure raw.estimate_request(config_json varchar, model_json varchar)
    copy grants
    returns varchar
    language python
    runtime_version = '3.11'
    artifact_repository = snowflake.snowpark.pypi_shared_repository
    packages = ('snowflake-snowpark-python==1.56.0', 'snowflake-connector-python==4.8.0', 'pillow==13.0.0', 'pypdf==7.1.1', 'psd-tools==1.26.0', 'defusedxml==0.7.1', 'numpy==2.4.6', 'setuptools', 'wheel', 'typing-extensions==4.16.0', 'pyyaml==6.0.4', 'cloudpickle==3.1.2', 'protobuf==6.33.6', 'python-dateutil==2.9.0.post0', 'tzlocal==5.4.5', 'asn1crypto==1.5.1', 'cryptography==50.0.2', 'pyopenssl==26.4.0', 'pyjwt==2.15.1', 'pytz==2026.6', 'requests==2.34.2', 'packaging==26.4', 'charset-normalizer==3.5.3', 'idna==3.20', 'certifi==2025.1.31', 'filelock==3.32.7', 'sortedcontainers==2.4.0', 'platformdirs==4.14.8', 'tomlkit==0.15.2', 'boto3==1.44.8', 'botocore==1.44.8', 'attrs==26.1.0', 'six==1.17.0', 'cffi==2.1.1', 'urllib3==2.8.0', 'jmespath==1.1.0', 's3transfer==0.19.3', 'pycparser==3.12')
    imports = ('@ops.deploy_artifacts/snowpark_procs.zip')
    handler = 'snowpark_procs.handlers.estimate_request'
    execute as owner;

-- ==== external function ====
use role pixelforge_render;
-- The renderer answers 202 while a batch renders and Snowflake polls with GET until 200 (the
-- asynchronous protocol; ecs_render/protocol.py). MAX_BATCH_ROWS = 45: floor(600 s async timeout x
-- 0.5 usable / (2.2 CPU-s worst file x 1.5 derate x 8 batches in flight / 4 workers = 6.60 s per
-- row))
create or replace external function raw.render_thumbnails(
    relative_path varchar,
    etag varchar,
    sha256 varchar,
    size_bytes number
)
    returns variant
    volatile
    api_integration = pixelforge_render_api
    max_batch_rows = 45
    compression = auto
    as '<PIXELFORGE_RENDER_API_URL>render';
grant usage on function pixelforge.raw.render_thumbnails(varchar, varchar, varchar, number) to role pixelforge_loader;

-- ==== dbt project ====
use role pixelforge_orchestrator;
-- Created once, pinned to the dbt Core version the project is tested with
-- (orchestration/deploy/dbt_versions.py; without DBT_VERSION the account default, 1.9.4 unless
-- changed, compiles it). Not CREATE OR REPLACE: replacing resets the object's versions to
-- VERSION$1 ("Versions for dbt project objects and files").
create dbt project if not exists ops.pixelforge_dbt
    from '@ops.deploy_artifacts/dbt/'
    default_target = prod
    dbt_version = '1.10.15';
-- Each deploy adds the staged files as the object's next version (VERSION$n), the documented
-- redeploy ("Understand dbt project objects"; "ALTER DBT PROJECT",
-- https://docs.snowflake.com/en/sql-reference/sql/alter-dbt-project); the object, its grants and
-- the tasks that name it are not replaced. Once the 2026_06 behavior change bundle is enabled
-- (pending: bcr-2362, "dbt project objects migrate to a single mutable live version") the form is
-- `alter dbt project ... deploy from '<source>'`.
alter dbt project ops.pixelforge_dbt add version
    from '@ops.deploy_artifacts/dbt/';
-- A changed pin reaches an object that already exists.
alter dbt project ops.pixelforge_dbt set dbt_version = '1.10.15';

-- ==== task graph pixelforge (orchestration/graph.py) ====
create or alter task ops.pixelforge_root
    schedule = 'USING CRON 0,15,30,45 * * * * UTC'
    config = $${"extract_batch_rows": 500, "heartbeat_integration": "pixelforge_heartbeat", "mode": "incremental", "pipeline": "pixelforge", "render_max_tasks": 4, "step_budget_s": 300.0, "tasks": {"discover": "PIXELFORGE_DISCOVER", "extract_metadata": "PIXELFORGE_EXTRACT_METADATA", "load": "PIXELFORGE_LOAD", "render_thumbnails": "PIXELFORGE_RENDER_THUMBNAILS", "root": "PIXELFORGE_ROOT", "validate": "PIXELFORGE_VALIDATE"}}$$
    overlap_policy = no_overlap
    task_auto_retry_attempts = 2
    suspend_task_after_num_failures = 10
    user_task_timeout_ms = 600000
    error_integration = pixelforge_alerts
    comment = 'pixelforge: scheduled root; consumes raw.designs_stream'
as
    insert into ops.directory_events (
        relative_path, etag, size, action, is_update, run_id, observed_at
    )
    select
        relative_path,
        etag,
        size,
        metadata$action as action,
        metadata$isupdate as is_update,
        system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID') as run_id,
        sysdate() as observed_at
    from raw.designs_stream;
create or alter task ops.pixelforge_discover
    user_task_timeout_ms = 600000
    comment = 'pixelforge: step discover (procedure)'
    after ops.pixelforge_root
as
    execute immediate $$
    declare
        summary varchar;
    begin
        call raw.discover(system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID'), system$get_task_graph_config()) into :summary;
        call system$set_return_value(:summary);
        return summary;
    end;
    $$;
create or alter task ops.pixelforge_extract_metadata
    user_task_timeout_ms = 600000
    comment = 'pixelforge: step extract_metadata (procedure)'
    after ops.pixelforge_discover
as
    execute immediate $$
    declare
        summary varchar;
    begin
        call raw.extract_metadata(system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID'), system$get_task_graph_config()) into :summary;
        call system$set_return_value(:summary);
        return summary;
    end;
    $$;
create or alter task ops.pixelforge_render_thumbnails
    user_task_timeout_ms = 600000
    comment = 'pixelforge: step render_thumbnails (procedure calling the render external function)'
    after ops.pixelforge_extract_metadata
as
    execute immediate $$
    declare
        summary varchar;
    begin
        call raw.render_thumbnails(system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID'), system$get_task_graph_config()) into :summary;
        call system$set_return_value(:summary);
        return summary;
    end;
    $$;
create or alter task ops.pixelforge_validate
    warehouse = pixelforge_transform_wh
    user_task_timeout_ms = 600000
    comment = 'pixelforge: step validate (dbt selector validate)'
    after ops.pixelforge_render_thumbnails
as
    execute dbt project ops.pixelforge_dbt args = 'build --selector validate --exclude-resource-type unit_test --target prod' dbt_version = '1.10.15';
create or alter task ops.pixelforge_load
    warehouse = pixelforge_transform_wh
    user_task_timeout_ms = 600000
    comment = 'pixelforge: step load (dbt selector load)'
    after ops.pixelforge_validate
as
    execute dbt project ops.pixelforge_dbt args = 'build --selector load --exclude-resource-type unit_test --target prod' dbt_version = '1.10.15';
create or alter task ops.pixelforge_finalize
    user_task_timeout_ms = 600000
    comment = 'pixelforge: finalizer (runs after success or failure)'
    finalize = ops.pixelforge_root
as
    execute immediate $$
    declare
        summary varchar;
    begin
        call raw.finalize(system$task_runtime_info('CURRENT_TASK_GRAPH_RUN_GROUP_ID'), system$get_task_graph_config()) into :summary;
        call system$set_return_value(:summary);
        return summary;
    end;
    $$;

-- ==== standalone tasks: reconciliation and task-history copy ====
create or alter task ops.pixelforge_reconcile
    schedule = 'USING CRON 0 3 * * * UTC'
    overlap_policy = no_overlap
    task_auto_retry_attempts = 1
    suspend_task_after_num_failures = 3
    user_task_timeout_ms = 3600000
    error_integration = pixelforge_alerts
    comment = 'pixelforge: nightly reconciliation (re-list stages, request a reconcile)'
as
    execute immediate $$
    declare
        design_folders cursor for
            select distinct split_part(relative_path, '/', 1) || '/' as subpath
            from directory(@raw.designs_stage)
            where contains(relative_path, '/');
        thumbnail_folders cursor for
            select value::varchar as subpath
            from table(flatten(input => parse_json('["v1/00/","v1/01/","v1/02/","v1/03/","v1/04/","v1/05/","v1/06/","v1/07/","v1/08/","v1/09/","v1/0a/","v1/0b/","v1/0c/","v1/0d/","v1/0e/","v1/0f/","v1/10/","v1/11/","v1/12/","v1/13/","v1/14/","v1/15/","v1/16/","v1/17/","v1/18/","v1/19/","v1/1a/","v1/1b/","v1/1c/","v1/1d/","v1/1e/","v1/1f/","v1/20/","v1/21/","v1/22/","v1/23/","v1/24/","v1/25/","v1/26/","v1/27/","v1/28/","v1/29/","v1/2a/","v1/2b/","v1/2c/","v1/2d/","v1/2e/","v1/2f/","v1/30/","v1/31/","v1/32/","v1/33/","v1/34/","v1/35/","v1/36/","v1/37/","v1/38/","v1/39/","v1/3a/","v1/3b/","v1/3c/","v1/3d/","v1/3e/","v1/3f/","v1/40/","v1/41/","v1/42/","v1/43/","v1/44/","v1/45/","v1/46/","v1/47/","v1/48/","v1/49/","v1/4a/","v1/4b/","v1/4c/","v1/4d/","v1/4e/","v1/4f/","v1/50/","v1/51/","v1/52/","v1/53/","v1/54/","v1/55/","v1/56/","v1/57/","v1/58/","v1/59/","v1/5a/","v1/5b/","v1/5c/","v1/5d/","v1/5e/","v1/5f/","v1/60/","v1/61/","v1/62/","v1/63/","v1/64/","v1/65/","v1/66/","v1/67/","v1/68/","v1/69/","v1/6a/","v1/6b/","v1/6c/","v1/6d/","v1/6e/","v1/6f/","v1/70/","v1/71/","v1/72/","v1/73/","v1/74/","v1/75/","v1/76/","v1/77/","v1/78/","v1/79/","v1/7a/","v1/7b/","v1/7c/","v1/7d/","v1/7e/","v1/7f/","v1/80/","v1/81/","v1/82/","v1/83/","v1/84/","v1/85/","v1/86/","v1/87/","v1/88/","v1/89/","v1/8a/","v1/8b/","v1/8c/","v1/8d/","v1/8e/","v1/8f/","v1/90/","v1/91/","v1/92/","v1/93/","v1/94/","v1/95/","v1/96/","v1/97/","v1/98/","v1/99/","v1/9a/","v1/9b/","v1/9c/","v1/9d/","v1/9e/","v1/9f/","v1/a0/","v1/a1/","v1/a2/","v1/a3/","v1/a4/","v1/a5/","v1/a6/","v1/a7/","v1/a8/","v1/a9/","v1/aa/","v1/ab/","v1/ac/","v1/ad/","v1/ae/","v1/af/","v1/b0/","v1/b1/","v1/b2/","v1/b3/","v1/b4/","v1/b5/","v1/b6/","v1/b7/","v1/b8/","v1/b9/","v1/ba/","v1/bb/","v1/bc/","v1/bd/","v1/be/","v1/bf/","v1/c0/","v1/c1/","v1/c2/","v1/c3/","v1/c4/","v1/c5/","v1/c6/","v1/c7/","v1/c8/","v1/c9/","v1/ca/","v1/cb/","v1/cc/","v1/cd/","v1/ce/","v1/cf/","v1/d0/","v1/d1/","v1/d2/","v1/d3/","v1/d4/","v1/d5/","v1/d6/","v1/d7/","v1/d8/","v1/d9/","v1/da/","v1/db/","v1/dc/","v1/dd/","v1/de/","v1/df/","v1/e0/","v1/e1/","v1/e2/","v1/e3/","v1/e4/","v1/e5/","v1/e6/","v1/e7/","v1/e8/","v1/e9/","v1/ea/","v1/eb/","v1/ec/","v1/ed/","v1/ee/","v1/ef/","v1/f0/","v1/f1/","v1/f2/","v1/f3/","v1/f4/","v1/f5/","v1/f6/","v1/f7/","v1/f8/","v1/f9/","v1/fa/","v1/fb/","v1/fc/","v1/fd/","v1/fe/","v1/ff/"]')));
        root_state varchar;
    begin
        for folder in design_folders do
            execute immediate 'alter stage raw.designs_stage refresh subpath = '''
                || replace(folder.subpath, '''', '''''') || '''';
        end for;
        for folder in thumbnail_folders do
            execute immediate 'alter stage raw.thumbnails_stage refresh subpath = '''
                || folder.subpath || '''';
        end for;
        insert into ops.run_requests (
            request_id, mode, requested_at, state, attempts
        )
        select uuid_string(), 'reconcile', sysdate(), 'PENDING', 0;
        show tasks like 'PIXELFORGE_ROOT' in schema ops;
        root_state := (select "state" from table(result_scan(last_query_id())));
        if (root_state = 'started') then
            execute task ops.pixelforge_root;
            return 'reconciliation requested; a run of the graph serves it';
        end if;
        return 'reconciliation requested; the root is suspended: it runs once resumed';
    end;
    $$;
create or alter task ops.pixelforge_archive_task_history
    schedule = 'USING CRON 17 * * * * UTC'
    overlap_policy = no_overlap
    suspend_task_after_num_failures = 3
    user_task_timeout_ms = 900000
    comment = 'copies ACCOUNT_USAGE.TASK_HISTORY into ops.task_history_archive (365 days+)'
as
    merge into ops.task_history_archive as archive
    using (
        select
            history.query_id,
            history.name,
            history.database_name,
            history.schema_name,
            history.query_text,
            history.condition_text,
            history.state,
            history.error_code,
            history.error_message,
            convert_timezone('UTC', history.scheduled_time)::timestamp_ntz as scheduled_time,
            convert_timezone('UTC', history.query_start_time)::timestamp_ntz as query_start_time,
            -- ACCOUNT_USAGE.TASK_HISTORY has no NEXT_SCHEDULED_TIME (only the INFORMATION_SCHEMA
            -- function does): "TASK_HISTORY view", Snowflake docs; checks/snowflake_catalog.yml
            null::timestamp_ntz as next_scheduled_time,
            convert_timezone('UTC', history.completed_time)::timestamp_ntz as completed_time,
            history.root_task_id,
            history.graph_version,
            history.run_id,
            history.return_value,
            history.scheduled_from,
            history.attempt_number,
            history.config,
            history.graph_run_group_id
        from snowflake.account_usage.task_history as history
        where
            history.database_name = 'PIXELFORGE'
            and history.completed_time >= coalesce(
                (
                    select dateadd('hour', -3, max(archived.completed_time))
                    from ops.task_history_archive as archived
                ),
                dateadd('day', -365, current_timestamp())
            )
        qualify row_number() over (
            partition by history.graph_run_group_id, history.attempt_number, history.name
            order by history.completed_time desc
        ) = 1
    ) as source
        on
            archive.graph_run_group_id = source.graph_run_group_id
            and archive.attempt_number = source.attempt_number
            and archive.name = source.name
    when not matched then insert (
        query_id, name, database_name, schema_name, query_text, condition_text,
        state, error_code, error_message, scheduled_time, query_start_time,
        next_scheduled_time, completed_time, root_task_id, graph_version, run_id,
        return_value, scheduled_from, attempt_number, config, graph_run_group_id,
        copied_at
    ) values (
        source.query_id, source.name, source.database_name, source.schema_name,
        source.query_text, source.condition_text, source.state, source.error_code,
        source.error_message, source.scheduled_time, source.query_start_time,
        source.next_scheduled_time, source.completed_time, source.root_task_id,
        source.graph_version, source.run_id, source.return_value,
        source.scheduled_from, source.attempt_number, source.config,
        source.graph_run_group_id, sysdate()
    );
grant monitor on task pixelforge.ops.pixelforge_root to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_discover to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_extract_metadata to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_render_thumbnails to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_validate to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_load to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_finalize to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_reconcile to role pixelforge_loader;
grant monitor on task pixelforge.ops.pixelforge_archive_task_history to role pixelforge_loader;

-- ==== backfill and re-processing ====
-- BACKFILL(start_ts, end_ts, dry_run): queue a backfill of the files last modified in [start, end)
-- as a request in ops.run_requests, then start a run of ops.pixelforge_root (harmless if one is
-- already queued: EXECUTE TASK replaces a scheduled run, and runs drain the requests oldest
-- first). Unlike EXECUTE TASK ... USING CONFIG, a second backfill or the nightly reconciliation
-- never replaces a window still queued. The rules are snowpark_procs/run_config.py's: [start, end)
-- in UTC, start before end, at most 31 days, start not in the future. With dry_run TRUE it queues
-- and runs nothing and returns what the backfill would read and cost: raw.estimate_request counts
-- the files it would discover now and prices them with the capacity model rendered below
-- (orchestration/capacity.py); CALL ... INTO takes a procedure's value
-- (https://docs.snowflake.com/en/sql-reference/sql/call). Arguments may be named: CALL
-- ops.backfill(start_ts => ..., end_ts => ..., dry_run => TRUE).
create or replace procedure ops.backfill(
    start_ts timestamp_tz, end_ts timestamp_tz, dry_run boolean
)
    copy grants
    returns varchar
    language sql
    execute as owner
as
$$
declare
    bad_window exception (-20001, 'backfill: start_ts and end_ts are required, start_ts < end_ts');
    too_long exception (-20002, 'backfill: split windows longer than 31 days');
    in_future exception (-20003, 'backfill: start_ts is in the future');
    window_start timestamp_ntz;
    window_end timestamp_ntz;
    request_id varchar;
    config varchar;
    estimate varchar;
begin
    if (start_ts is null or end_ts is null or start_ts >= end_ts) then
        raise bad_window;
    end if;
    window_start := convert_timezone('UTC', start_ts)::timestamp_ntz;
    window_end := convert_timezone('UTC', end_ts)::timestamp_ntz;
    if (datediff('second', window_start, window_end) > 31 * 86400) then
        raise too_long;
    end if;
    if (window_start > sysdate()) then
        raise in_future;
    end if;
    if (dry_run) then
        config := to_json(object_construct(
            'mode', 'backfill',
            'window_start', to_varchar(window_start, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'window_end', to_varchar(window_end, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        ));
        call raw.estimate_request(:config, '{"api_gateway_usd_per_million": 3.5, "clusters": 1, "credit_multiplier": 0.9, "credit_usd": 3.0, "credits_per_hour": {"LARGE": 8.0, "MEDIUM": 4.0, "SMALL": 2.0, "X4LARGE": 128.0, "XLARGE": 16.0, "XSMALL": 1.0, "XXLARGE": 32.0, "XXXLARGE": 64.0}, "extract_batch_rows": 500, "extract_cpu_s_per_file": 0.0007962659757756972, "extract_cpu_s_per_mb": 0.0007530537988103725, "extract_fixed_s_per_file": 0.0036858306884765624, "extract_step": "extract_metadata", "fargate_gb_hour_usd": 0.004445, "fargate_vcpu_hour_usd": 0.04048, "max_batch_rows": 45, "max_tasks": 4, "measured_on": "extraction: bench.per_file, reduced scale, 2026-12-06, 2 x AMD EPYC; rendering: bench.render_batch, full scale, 2026-12-06, 2 x AMD EPYC", "min_tasks": 1, "parallel_efficiency": 0.5, "render_cpu_derate": 1.5, "render_cpu_s_per_file": 0.2522083333333333, "render_fixed_s_per_file": 0.002154858907063802, "render_statement_rows": 720, "render_step": "render_thumbnails", "rows_per_request": 50.0, "run_interval_s": 900.0, "run_overhead_s": 120.0, "s3_get_per_1000_usd": 0.0004, "stage_read_mb_per_s": 50.0, "step_budget_s": 300.0, "task_memory_gb": 8.0, "task_vcpu": 4.0, "warehouse_size": "XSMALL", "workers_per_task": 4, "xs_warehouse_vcpu": 8.0}') into :estimate;
        return estimate;
    end if;
    request_id := uuid_string();
    insert into ops.run_requests (
        request_id, mode, window_start, window_end, requested_at, state, attempts
    )
    select :request_id, 'backfill', :window_start, :window_end, sysdate(), 'PENDING', 0;
    execute task ops.pixelforge_root;
    return to_json(object_construct(
        'request_id', request_id,
        'mode', 'backfill',
        'window_start', to_varchar(window_start, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'window_end', to_varchar(window_end, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    ));
end;
$$;
-- BACKFILL(start_ts, end_ts): the backfill itself, as before dry runs existed, an overload of the
-- one above ("Naming and overloading procedures and UDFs",
-- https://docs.snowflake.com/en/developer-guide/udf-stored-procedure-naming-conventions): no
-- DEFAULT argument, which the signature deployed before would make ambiguous.
create or replace procedure ops.backfill(start_ts timestamp_tz, end_ts timestamp_tz)
    copy grants
    returns varchar
    language sql
    execute as owner
as
$$
declare
    result varchar;
begin
    call ops.backfill(:start_ts, :end_ts, false) into :result;
    return result;
end;
$$;
-- Overloads an earlier plan created with another argument list, dropped before their replacements
-- are created (orchestration/deploy/names.py says why).
drop procedure if exists ops.reprocess(varchar, varchar, varchar, boolean);
-- REPROCESS([steps, prefix, format, dry_run, facet]): re-run the chosen steps (comma-separated,
-- default every file step: extract_metadata,render_thumbnails) for the current file versions under
-- `prefix` whose sniffed format is `format` (empty: every one), e.g. after a thumbnail-setting
-- change. With `facet` (one of document, structure, text, visual; pixelforge_core/facets.py), that
-- facet's own step for the covered versions whose stored facet version is older than its
-- extractor's or missing, computing that facet alone, e.g. CALL ops.reprocess(facet =>
-- 'structure'). Queued as a request in ops.run_requests like a backfill, then a run of
-- ops.pixelforge_root is started; bounded and resumable the same way, and outputs whose values are
-- unchanged are not rewritten. raw.estimate_request validates the request by
-- snowpark_procs/run_config.py's rules, refuses one that selects nothing and prices it with the
-- capacity model rendered below (orchestration/capacity.py): with dry_run => TRUE that estimate is
-- returned and nothing is queued or run. Every argument is optional (DEFAULT, "Specifying optional
-- arguments", https://docs.snowflake.com/en/developer-guide/udf-stored-procedure-arguments) and
-- may be named, e.g. CALL ops.reprocess(steps => 'render_thumbnails', dry_run => TRUE); CALL ...
-- INTO takes a procedure's value (https://docs.snowflake.com/en/sql-reference/sql/call).
create or replace procedure ops.reprocess(
    steps varchar default null,
    prefix varchar default '',
    format varchar default '',
    dry_run boolean default false,
    facet varchar default ''
)
    copy grants
    returns varchar
    language sql
    execute as owner
as
$$
declare
    config varchar;
    estimate varchar;
    request_id varchar;
begin
    config := to_json(object_construct(
        'mode', 'reprocess', 'steps', steps, 'prefix', prefix, 'format', format,
        'facet', facet
    ));
    call raw.estimate_request(:config, '{"api_gateway_usd_per_million": 3.5, "clusters": 1, "credit_multiplier": 0.9, "credit_usd": 3.0, "credits_per_hour": {"LARGE": 8.0, "MEDIUM": 4.0, "SMALL": 2.0, "X4LARGE": 128.0, "XLARGE": 16.0, "XSMALL": 1.0, "XXLARGE": 32.0, "XXXLARGE": 64.0}, "extract_batch_rows": 500, "extract_cpu_s_per_file": 0.0007962659757756972, "extract_cpu_s_per_mb": 0.0007530537988103725, "extract_fixed_s_per_file": 0.0036858306884765624, "extract_step": "extract_metadata", "fargate_gb_hour_usd": 0.004445, "fargate_vcpu_hour_usd": 0.04048, "max_batch_rows": 45, "max_tasks": 4, "measured_on": "extraction: bench.per_file, reduced scale, 2026-12-06, 2 x AMD EPYC; rendering: bench.render_batch, full scale, 2026-12-06, 2 x AMD EPYC", "min_tasks": 1, "parallel_efficiency": 0.5, "render_cpu_derate": 1.5, "render_cpu_s_per_file": 0.2522083333333333, "render_fixed_s_per_file": 0.002154858907063802, "render_statement_rows": 720, "render_step": "render_thumbnails", "rows_per_request": 50.0, "run_interval_s": 900.0, "run_overhead_s": 120.0, "s3_get_per_1000_usd": 0.0004, "stage_read_mb_per_s": 50.0, "step_budget_s": 300.0, "task_memory_gb": 8.0, "task_vcpu": 4.0, "warehouse_size": "XSMALL", "workers_per_task": 4, "xs_warehouse_vcpu": 8.0}') into :estimate;
    if (dry_run) then
        return estimate;
    end if;
    request_id := uuid_string();
    insert into ops.run_requests (
        request_id, mode, redo_steps, path_prefix, format_filter, redo_facet, requested_at,
        state, attempts
    )
    select
        :request_id,
        'reprocess',
        parse_json(:estimate):redo_steps::varchar,
        parse_json(:estimate):path_prefix::varchar,
        parse_json(:estimate):format_filter::varchar,
        nullif(parse_json(:estimate):redo_facet::varchar, ''),
        sysdate(),
        'PENDING',
        0;
    execute task ops.pixelforge_root;
    return to_json(object_construct(
        'request_id', request_id, 'mode', 'reprocess', 'estimate', parse_json(estimate)
    ));
end;
$$;
grant usage on procedure pixelforge.ops.backfill(timestamp_tz, timestamp_tz) to role pixelforge_operator;
grant usage on procedure pixelforge.ops.backfill(timestamp_tz, timestamp_tz, boolean) to role pixelforge_operator;
grant usage on procedure pixelforge.ops.reprocess(varchar, varchar, varchar, boolean, varchar) to role pixelforge_operator;

-- ==== alerts (orchestration/alerts.py) ====
-- dbt selector validate
execute dbt project ops.pixelforge_dbt args = 'build --selector validate --exclude-resource-type unit_test --target prod' dbt_version = '1.10.15';
-- dbt selector load
execute dbt project ops.pixelforge_dbt args = 'build --selector load --exclude-resource-type unit_test --target prod' dbt_version = '1.10.15';
-- dbt selector ops: the ops views and the unit-prices seed
execute dbt project ops.pixelforge_dbt args = 'build --selector ops --exclude-resource-type unit_test --target prod' dbt_version = '1.10.15';
create or replace alert ops.pixelforge_no_recent_success
    schedule = '15 MINUTE'
    if (exists (
        with final_attempts as (
            select
                graph_run_group_id,
                name,
                state,
                completed_time
            from (
            select
                name,
                state,
                error_message,
                graph_run_group_id,
                attempt_number,
                convert_timezone('UTC', scheduled_time)::timestamp_ntz as scheduled_time,
                convert_timezone('UTC', query_start_time)::timestamp_ntz
                    as query_start_time,
                convert_timezone('UTC', completed_time)::timestamp_ntz as completed_time
            from table(information_schema.task_history(
                scheduled_time_range_start => dateadd('day', -1, current_timestamp()),
                result_limit => 10000
            ))
        ) as task_history
            where name in ('PIXELFORGE_ROOT', 'PIXELFORGE_DISCOVER', 'PIXELFORGE_EXTRACT_METADATA', 'PIXELFORGE_RENDER_THUMBNAILS', 'PIXELFORGE_VALIDATE', 'PIXELFORGE_LOAD', 'PIXELFORGE_FINALIZE')
            qualify row_number() over (
                partition by graph_run_group_id, name order by attempt_number desc
            ) = 1
        ),

        graph_runs as (
            select
                graph_run_group_id,
                max(completed_time) as completed_at,
                boolor_agg(state in ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED')) as has_failed_task,
                boolor_agg(
                    name = 'PIXELFORGE_FINALIZE' and state = 'SUCCEEDED'
                ) as has_finished_finalizer
            from final_attempts
            group by graph_run_group_id
        )

        select max(
            case
                when has_finished_finalizer and not has_failed_task then completed_at
            end
        ) as last_success_at
        from graph_runs
        having coalesce(
            max(
                case
                    when has_finished_finalizer and not has_failed_task then completed_at
                end
            ),
            '1970-01-01'::timestamp_ntz
        ) < dateadd('minute', -30, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz)
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "no_recent_success", "message": "pixelforge: no successful run in the last 30 minutes (late or missed schedule)", "pipeline": "pixelforge", "runbook": "docs/runbook.md#no_recent_success", "severity": "page"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );
create or replace alert ops.pixelforge_failed_run
    schedule = '15 MINUTE'
    if (exists (
        with final_attempts as (
            select
                graph_run_group_id,
                name,
                state,
                completed_time
            from (
            select
                name,
                state,
                error_message,
                graph_run_group_id,
                attempt_number,
                convert_timezone('UTC', scheduled_time)::timestamp_ntz as scheduled_time,
                convert_timezone('UTC', query_start_time)::timestamp_ntz
                    as query_start_time,
                convert_timezone('UTC', completed_time)::timestamp_ntz as completed_time
            from table(information_schema.task_history(
                scheduled_time_range_start => dateadd('day', -1, current_timestamp()),
                result_limit => 10000
            ))
        ) as task_history
            where name in ('PIXELFORGE_ROOT', 'PIXELFORGE_DISCOVER', 'PIXELFORGE_EXTRACT_METADATA', 'PIXELFORGE_RENDER_THUMBNAILS', 'PIXELFORGE_VALIDATE', 'PIXELFORGE_LOAD', 'PIXELFORGE_FINALIZE')
            qualify row_number() over (
                partition by graph_run_group_id, name order by attempt_number desc
            ) = 1
        ),

        graph_runs as (
            select
                graph_run_group_id,
                max(completed_time) as completed_at,
                boolor_agg(state in ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED')) as has_failed_task,
                boolor_agg(
                    name = 'PIXELFORGE_FINALIZE' and state = 'SUCCEEDED'
                ) as has_finished_finalizer
            from final_attempts
            group by graph_run_group_id
        )

        select
            graph_run_group_id,
            completed_at
        from graph_runs
        where
            has_failed_task
            and completed_at > coalesce(convert_timezone('UTC', snowflake.alert.last_successful_scheduled_time())::timestamp_ntz, dateadd('minute', -15, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz))
            and completed_at <= convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "failed_run", "message": "pixelforge: a run failed; its files wait for the next run", "pipeline": "pixelforge", "runbook": "docs/runbook.md#failed_run", "severity": "page"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );
create or replace alert ops.pixelforge_failing_step
    schedule = '15 MINUTE'
    if (exists (
        select
            name,
            count(*) as failed_attempts,
            max(completed_time) as last_failed_at
        from (
            select
                name,
                state,
                error_message,
                graph_run_group_id,
                attempt_number,
                convert_timezone('UTC', scheduled_time)::timestamp_ntz as scheduled_time,
                convert_timezone('UTC', query_start_time)::timestamp_ntz
                    as query_start_time,
                convert_timezone('UTC', completed_time)::timestamp_ntz as completed_time
            from table(information_schema.task_history(
                scheduled_time_range_start => dateadd('day', -1, current_timestamp()),
                result_limit => 10000
            ))
        ) as task_history
        where
            state in ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED')
            and name in ('PIXELFORGE_ROOT', 'PIXELFORGE_DISCOVER', 'PIXELFORGE_EXTRACT_METADATA', 'PIXELFORGE_RENDER_THUMBNAILS', 'PIXELFORGE_VALIDATE', 'PIXELFORGE_LOAD', 'PIXELFORGE_FINALIZE')
            and completed_time > dateadd('minute', -60, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz)
            and completed_time <= convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz
        group by name
        having count(*) >= 2
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "failing_step", "message": "pixelforge: a step failed 2+ attempts in 60 minutes (retried or not)", "pipeline": "pixelforge", "runbook": "docs/runbook.md#failing_step", "severity": "warning"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );
create or replace alert ops.pixelforge_backlog_growth
    schedule = '15 MINUTE'
    if (exists (
        with ordered_snapshots as (
            select
                backlog_files,
                lag(backlog_files) over (order by snapshot_at) as previous_backlog_files,
                row_number() over (order by snapshot_at desc) as recency
            from ops_marts.fct_backlog_snapshots
            where snapshot_at <= convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz
        )

        select max(case when recency = 1 then backlog_files end) as backlog_files
        from ordered_snapshots
        where recency <= 3
        having count_if(backlog_files > previous_backlog_files) = 3
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "backlog_growth", "message": "pixelforge: the backlog (discovered, not loaded) grew at each of the last 3 runs", "pipeline": "pixelforge", "runbook": "docs/runbook.md#backlog_growth", "severity": "warning"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );
create or replace alert ops.pixelforge_latency_objective_breached
    schedule = '15 MINUTE'
    if (exists (
        with recent_loads as (
            select
                percentile_cont(0.95) within group (
                    order by upload_to_queryable_seconds
                ) as p95_seconds
            from marts.fct_file_versions
            where
                first_loaded_at > dateadd('minute', -60, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz)
                and first_loaded_at <= convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz
        ),

        waiting_files as (
            select max(datediff('second', last_modified_at, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz)) as oldest_wait_seconds
            from ops_marts.dim_file_states
            where is_in_backlog
        )

        select
            recent_loads.p95_seconds,
            waiting_files.oldest_wait_seconds
        from recent_loads
        cross join waiting_files
        where
            recent_loads.p95_seconds > 1800
            or waiting_files.oldest_wait_seconds > 1800
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "latency_objective_breached", "message": "pixelforge: upload -> queryable over 30 minutes (p95 of the last 60 minutes, or a file still waiting)", "pipeline": "pixelforge", "runbook": "docs/runbook.md#latency_objective_breached", "severity": "page"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );
create or replace alert ops.pixelforge_quarantine_spike
    schedule = '15 MINUTE'
    if (exists (
        select
            count(*) as loaded_files,
            count_if(is_quarantined) as quarantined_files
        from marts.fct_file_versions
        where
            first_loaded_at > dateadd('minute', -60, convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz)
            and first_loaded_at <= convert_timezone('UTC', snowflake.alert.scheduled_time())::timestamp_ntz
        having
            count_if(is_quarantined) >= 10
            and count_if(is_quarantined) > 0.25 * count(*)
    ))
    then
        call system$send_snowflake_notification(
            snowflake.notification.application_json('{"alert": "quarantine_spike", "message": "pixelforge: 10+ file versions and over 25% of those loaded in the last 60 minutes were quarantined", "pipeline": "pixelforge", "runbook": "docs/runbook.md#quarantine_spike", "severity": "warning"}'),
            snowflake.notification.integration('pixelforge_alerts')
        );

-- ==== design search service (Cortex Search over marts.mart_design_search) ====
use role pixelforge_transformer;
-- The search service reads the mart's changes: change tracking on the table, set by its owner
-- (dynamic tables error 091930: a refresh fails when change tracking is off).
alter table marts.mart_design_search set change_tracking = true;
-- Created once: CREATE OR REPLACE would rebuild the index and re-embed every row ("CREATE CORTEX
-- SEARCH SERVICE", https://docs.snowflake.com/en/sql-reference/sql/create-cortex-search).
create cortex search service if not exists marts.design_search
    on search_text
    attributes format, creator_tool
    warehouse = pixelforge_transform_wh
    target_lag = '1 hour'
    embedding_model = 'snowflake-arctic-embed-m-v1.5'
    as (
        select
            search_text,
            format,
            creator_tool,
            file_version_id,
            relative_path,
            etag,
            name_tokens,
            fonts,
            colors
        from marts.mart_design_search
    );
-- Settings that may change reach a service that exists.
alter cortex search service marts.design_search set
    target_lag = '1 hour'
    warehouse = pixelforge_transform_wh;
grant usage on cortex search service pixelforge.marts.design_search to role pixelforge_operator;
use role pixelforge_orchestrator;

-- ==== resume ====
select system$task_dependents_enable('pixelforge.ops.pixelforge_root');
alter task ops.pixelforge_reconcile resume;
alter task ops.pixelforge_archive_task_history resume;
alter alert ops.pixelforge_no_recent_success resume;
alter alert ops.pixelforge_failed_run resume;
alter alert ops.pixelforge_failing_step resume;
alter alert ops.pixelforge_backlog_growth resume;
alter alert ops.pixelforge_latency_objective_breached resume;
alter alert ops.pixelforge_quarantine_spike resume;

-- ==== done ====
use role sysadmin;
