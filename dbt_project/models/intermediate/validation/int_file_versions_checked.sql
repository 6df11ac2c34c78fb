{#-
    One row per file version (relative_path, etag) with its quality verdict.
    The SQL lives in the checked_file_versions macro because the incremental
    marts run the same CTEs over their batch's versions only.
-#}
with

{{ checked_file_versions() }}

select * from file_versions_checked
