{#
    type_double(): the 64-bit floating point type, `double` on DuckDB and Spark. dbt's
    type_float() is a 32-bit FLOAT on DuckDB, which loses cents on large amounts, so money and
    ratios use this instead.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'custseg')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}
