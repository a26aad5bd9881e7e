{#
    custseg_check(kind, options): the answer (a dict) of one of the project's Python checks,
    custseg.dbt_plugin.Checks: probe_source, probe_customers or check_settings. The options
    travel as one JSON value, never pasted into SQL unescaped. Dispatched: DuckDB asks the
    custseg plugin's UDFs; Spark (profile type custseg_spark, custseg.spark) asks the adapter,
    which runs the same Python on the driver.
#}
{% macro custseg_check(kind, options) -%}
    {{ return(adapter.dispatch('custseg_check', 'custseg')(kind, options)) }}
{%- endmacro %}

{% macro default__custseg_check(kind, options) -%}
    {{ exceptions.raise_compiler_error(
        "This project's input checks run on DuckDB (type: duckdb) and on Spark through the "
        ~ "custseg_spark adapter (type: custseg_spark, see README \"Running on Spark\"); adapter "
        ~ adapter.type() ~ " has neither."
    ) }}
{%- endmacro %}

{% macro duckdb__custseg_check(kind, options) -%}
    {%- set answer = run_query("select custseg_" ~ kind ~ "(" ~ sql_string(tojson(options)) ~ ")") -%}
    {{ return(fromjson(answer.columns[0].values()[0])) }}
{%- endmacro %}

{% macro custseg_spark__custseg_check(kind, options) -%}
    {{ return(fromjson(adapter.custseg_check(kind, tojson(options)))) }}
{%- endmacro %}
