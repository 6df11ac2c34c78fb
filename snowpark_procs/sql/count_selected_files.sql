-- Dry runs: the file versions and bytes a backfill or a re-processing would
-- discover, its selection put in place of `selected_files` as for
-- discover_selected_files.sql. Binds: the selection's.
select
    count(*) as files,
    coalesce(sum(selected_files.size), 0) as bytes
from selected_files
