-- One path's text runs and pages in reading order, the first rows of them, with
-- their number (explain, the Files page). Binds: path, rows.
select
    text_source,
    text_ref,
    text,
    count(*) over () as total_rows
from marts.fct_design_text
where relative_path = ?
order by text_run_index asc
limit ?
