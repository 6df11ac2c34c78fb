-- Paths per pipeline stage with their oldest upload (pixelforge status, the
-- dashboard's backlog table and headline).
select
    pipeline_stage,
    count(*) as files,
    min(last_modified_at) as oldest_upload_at
from ops_marts.dim_file_states
group by pipeline_stage
order by pipeline_stage
