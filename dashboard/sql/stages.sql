-- Paths per pipeline stage now.
select
    pipeline_stage,
    count(*) as files
from ops_marts.dim_file_states
group by pipeline_stage
order by pipeline_stage
