{#-
    One row per file version (relative_path, etag) with its quality verdict,
    merged on file_version_id. A full build checks every version; an
    incremental run re-checks only the versions with metadata or thumbnail
    rows written after this table's own marks, so the verdicts' aggregates
    follow the batch, not the history. checked_at is one value per run: the
    marts read the rows checked after their own mark, and the row-local tests
    read the latest run's rows (where: __latest_check__).
-#}
with

{% if is_incremental() %}

    {{ rewritten_file_versions() }},

    {{ checked_file_versions(changed_versions='rewritten_versions') }}

{% else %}

    {{ checked_file_versions() }}

{% endif %}

select
    *,
    -- dbt's run_started_at: one value in every statement of the run
    cast(
        '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp_ntz
    ) as checked_at

from file_versions_checked
