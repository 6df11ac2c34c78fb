{#-
    Schemas come from the folder config in dbt_project.yml (staging, intermediate,
    marts) and are the same on every target: no `<target>_` prefix, no prod-only
    branch. A node without a +schema falls back to the profile's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
