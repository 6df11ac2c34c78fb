-- One path's document lineage from XMP: the current files whose DocumentID is
-- its DerivedFrom ("derived from") and those derived from its own DocumentID
-- ("source of") (explain, the Files page). Binds: path, the same path.
select
    'derived from' as relation,
    files.relative_path,
    files.document_id
from marts.dim_design_files_v2 as files
inner join marts.dim_design_files_v2 as target
    on files.document_id = target.derived_from_document_id
where
    target.relative_path = ?
    and not files.is_deleted
    and files.relative_path != target.relative_path

union all

select
    'source of' as relation,
    files.relative_path,
    files.document_id
from marts.dim_design_files_v2 as files
inner join marts.dim_design_files_v2 as target
    on files.derived_from_document_id = target.document_id
where
    target.relative_path = ?
    and not files.is_deleted
    and files.relative_path != target.relative_path

order by relation asc, relative_path asc
