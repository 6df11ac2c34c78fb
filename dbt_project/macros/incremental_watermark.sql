{#-
    The high-water mark of a timestamp column in the model's own table, for
    incremental filters (`where extracted_at > {{ incremental_watermark('extracted_at') }}`).
    An empty table or an all-null column yields 1900-01-01, so the first
    incremental run after a full build still selects everything new; a bare
    max() would yield null and select nothing.
-#}
{% macro incremental_watermark(column_name) -%}
    (
        select coalesce(max({{ column_name }}), cast('1900-01-01' as timestamp_ntz))
        from {{ this }}
    )
{%- endmacro %}
