-- Failures by reason: quarantined file versions per reason code and failed
-- step attempts per step, last 7 days (the dashboard's failures chart).
select
    'quarantine' as failure_kind,
    reason_code as reason,
    count(*) as failures
from marts.fct_quarantined_file_versions
where loaded_at >= dateadd('day', -7, sysdate())
group by reason_code
union all
select
    'step' as failure_kind,
    step as reason,
    count(*) as failures
from ops_marts.fct_step_runs
where is_failed and started_at >= dateadd('day', -7, sysdate())
group by step
order by failures desc
