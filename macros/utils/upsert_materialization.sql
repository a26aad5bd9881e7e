{#
    upsert_materialization(): 'incremental' where dbt's delete+insert strategy works on the
    tables this project writes (DuckDB), else 'table' (dbt-spark has no delete+insert on Parquet
    tables: the model is rebuilt every build there, same rows).
#}
{% macro upsert_materialization() -%}
    {{ return(adapter.dispatch('upsert_materialization', 'custseg')()) }}
{%- endmacro %}

{% macro default__upsert_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{% macro duckdb__upsert_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}
