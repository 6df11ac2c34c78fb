{#-
    One row per quarantined file version and failing rule, with the rule's text
    from the seed. A view over fct_file_versions: it holds no rows of its own,
    so it shows exactly the verdict the last load merged. A version re-merged
    with is_quarantined = false (say its thumbnails arrived) leaves it at once.
    Why not a table: an incremental merge only touches rows in its batch, so a
    version that stopped failing would keep its stale rows; a full table would
    rebuild every row on every run. Reading it costs a filtered scan of
    fct_file_versions (is_quarantined) and a split of the reason codes.
-#}
with

file_versions as (

    select * from {{ ref('fct_file_versions') }}

),

quality_rules as (

    select * from {{ ref('quality_rules') }}

),

quarantined_versions as (

    select * from file_versions

    where is_quarantined

),

reasons_split as (

    select
        quarantined_versions.file_version_id,
        quarantined_versions.relative_path,
        quarantined_versions.etag,
        quarantined_versions.metadata_error_message,
        quarantined_versions.last_modified_at,
        quarantined_versions.loaded_at,
        cast(reason_codes.value as varchar) as reason_code

    from quarantined_versions,
        lateral flatten(
            input => split(quarantined_versions.quarantine_reason_codes, ',')
        ) as reason_codes

),

quarantined_file_versions as (

    select
        ----------  ids
        reasons_split.file_version_id,

        ---------- strings
        reasons_split.relative_path,
        reasons_split.etag,
        reasons_split.reason_code,
        quality_rules.step as rule_step,
        quality_rules.description as reason_text,
        reasons_split.metadata_error_message,

        ---------- timestamps
        reasons_split.last_modified_at,
        reasons_split.loaded_at

    from reasons_split

    left join quality_rules
        on reasons_split.reason_code = quality_rules.rule_code

)

select * from quarantined_file_versions
