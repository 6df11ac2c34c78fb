-- Production path of step "extract_metadata": the warehouse runs the Python
-- UDF raw.extract_file_metadata (snowpark_procs/udf_extract.py) over a batch
-- of charged pending files, spreading the rows over its nodes and their
-- interpreter processes; each file is read from the scoped URL built here
-- for the procedure's role on the designs stage (handlers.DESIGNS_STAGE).
-- Each outcome is a metadata row (with its facet rows), a failure row, a
-- retry or a hung marker. `facets`: the extraction facets to compute,
-- comma-separated (a facet re-processing's); absent (null): every one.
-- Binds: run_id, per-row time limit (seconds), batch JSON of
-- {relative_path, etag[, facets]}.
select
    item.index as file_index,
    raw.extract_file_metadata(
        build_scoped_file_url(
            '@raw.designs_stage', item.value:relative_path::varchar
        ),
        item.value:relative_path::varchar,
        item.value:etag::varchar,
        cast(? as varchar),
        cast(? as float),
        item.value:facets::varchar
    ) as outcome
from (select parse_json(?) as doc) as batch,
    lateral flatten(input => batch.doc) as item
order by file_index
