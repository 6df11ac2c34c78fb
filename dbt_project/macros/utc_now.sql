{#- The statement's start time in UTC as timestamp_ntz, the type of every raw timestamp. -#}
{% macro utc_now() -%}
    cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)
{%- endmacro %}
