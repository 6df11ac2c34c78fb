-- The 256 px thumbnail keys of the given file versions (the Files page's grid).
-- Binds: the file version ids as one JSON array.
select
    file_version_id,
    thumbnail_256_key
from marts.dim_design_files_v2
where file_version_id in (
    select ids.value::varchar from table(flatten(input => parse_json(?))) as ids
)
