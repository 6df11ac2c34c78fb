{#-
    The text runs of every current file version (dim_design_files v2, not
    deleted): int_design_text without its facet marker rows. A view, like
    fct_design_layers.
-#}
with

current_versions as (

    select file_version_id from {{ ref('dim_design_files', v=2) }}

    where not is_deleted

),

text_runs as (

    select * from {{ ref('int_design_text') }}

    where text_run_index is not null

),

design_text as (

    select
        ----------  ids
        text_runs.file_version_id,

        ---------- strings
        text_runs.relative_path,
        text_runs.etag,
        text_runs.text_source,
        text_runs.text,

        ---------- numerics
        text_runs.text_run_index,
        text_runs.text_ref

    from text_runs

    inner join current_versions
        on text_runs.file_version_id = current_versions.file_version_id

)

select * from design_text
