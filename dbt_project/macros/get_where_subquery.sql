{#-
    dbt's test `where` config (the documented override of get_where_subquery)
    with one placeholder: __latest_check__ reads
    `checked_at = (select max(checked_at) from <the tested relation>)`, the
    rows merged by the latest run of an incremental model stamped per run
    (int_file_versions_checked). Older rows were tested when they were checked
    and change only by a re-merge, which stamps them again; after a full build
    every row carries the latest stamp. Other `where` values pass unchanged.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__latest_check__' in where -%}
            {%- set latest_check -%}
                checked_at = (select max(checked_at) from {{ relation }})
            {%- endset -%}
            {%- set where = where | replace('__latest_check__', latest_check) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
