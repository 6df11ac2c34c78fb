-- Files per change type in a run's change set. Binds: run_id.
select
    change_type,
    count(*) as files
from raw.file_changes
where run_id = ?
group by change_type
