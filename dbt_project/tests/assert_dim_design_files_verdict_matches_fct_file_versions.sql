-- The two marts merge on their own watermarks; for every present path, the
-- current version's verdict in dim_design_files must equal fct_file_versions'.
-- A row here means one of the two missed a re-merge.
with

design_files as (

    select * from {{ ref('dim_design_files') }}

),

file_versions as (

    select * from {{ ref('fct_file_versions') }}

),

disagreements as (

    select
        design_files.relative_path,
        design_files.file_version_id,
        design_files.quarantine_reason_codes as dim_reason_codes,
        file_versions.quarantine_reason_codes as fct_reason_codes,
        design_files.is_valid,
        file_versions.is_quarantined

    from design_files

    inner join file_versions
        on design_files.file_version_id = file_versions.file_version_id

    where
        not design_files.is_deleted
        and (
            design_files.is_valid = file_versions.is_quarantined
            or design_files.quarantine_reason_codes
            is distinct from file_versions.quarantine_reason_codes
            or design_files.thumbnail_1024_key
            is distinct from file_versions.thumbnail_1024_key
        )

)

select * from disagreements
