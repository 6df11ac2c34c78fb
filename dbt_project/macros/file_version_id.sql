{#- The surrogate key of a file version: its natural key (relative_path, etag) hashed once, in staging. -#}
{% macro file_version_id(relative_path, etag) -%}
    md5({{ relative_path }} || '|' || {{ etag }})
{%- endmacro %}
