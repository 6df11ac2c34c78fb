-- Production path of step "extract_metadata": the warehouse runs the Python
-- UDF raw.extract_file_metadata (snowpark_procs/udf_extract.py) over a batch
-- of charged pending files, spreading the rows over its nodes and their
-- interpreter processes; each file is read from the scoped URL built here
-- for the procedure's role on the designs stage (handlers.DESIGNS_STAGE).
-- Each outcome is a metadata row, a failure row, a retry or a hung marker.
-- Binds: run_id, per-row time limit (seconds), batch JSON of
-- {relative_path, etag}.
select
    item.index as file_index,
    raw.extract_file_metadata(
        build_scoped_file_url(
            '@raw.designs_stage', item.value:relative_path::varchar
        ),
        item.value:relative_path::varchar,
        item.value:etag::varchar,
        cast(? as varchar),
        cast(? as float)
    ) as outcome
from (select parse_json(?) as doc) as batch,
    lateral flatten(input => batch.doc) as item
order by file_index
