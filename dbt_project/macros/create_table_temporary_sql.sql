{#-
    dbt-snowflake's temporary table with one change: it is a transient table.
    dbt creates temporary tables for an incremental model's batch
    (`+tmp_relation_type: table`, dbt_project.yml) and for the column-type probe
    of a unit test, and drops both once used. fakesnow (DuckDB) refuses a
    temporary table with a database and schema in its name; a transient table is
    valid Snowflake too, so local and prod run the same SQL. dbt-snowflake 1.11
    offers `tmp_relation_type: transient` for this, but dbt Projects on Snowflake
    runs dbt Core 1.10.15 (orchestration/deploy/dbt_versions.py) with the
    dbt-snowflake 1.10 macros, which have no such option: snowflake__create_table_as
    calls this macro by name, so this root-project macro wins. Everything else is
    dbt-snowflake 1.10's code.
-#}
{% macro snowflake__create_table_temporary_sql(relation, compiled_code) -%}

{%- set contract_config = config.get('contract') -%}
{%- if contract_config.enforced -%}
    {{- get_assert_columns_equivalent(compiled_code) -}}
    {%- set compiled_code = get_select_subquery(compiled_code) -%}
{%- endif -%}

{%- set sql_header = config.get('sql_header', none) -%}
{{ sql_header if sql_header is not none }}

create or replace transient table {{ relation }}
    {%- if contract_config.enforced %}
    {{ get_table_columns_and_constraints() }}
    {%- endif %}
as (
    {{ compiled_code }}
    )
;

{%- endmacro %}
