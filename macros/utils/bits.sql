{#
    Bit helpers for the line-by-line reconciliation (tests/singular/assert_raw_rows_reconcile),
    dispatched because engines spell them differently.

    int_div(a, b): integer division of non-negative integers (DuckDB `//`, elsewhere div()).
    bit_flag(position): a bigint with only bit `position` (0..61) set.
    bit_count(expr): the number of set bits of a bigint (popcount).
    bit_or_agg(expr): bitwise OR of an integer column over a group (bit_or on DuckDB and Spark).
#}
{% macro int_div(a, b) -%}
    {{ return(adapter.dispatch('int_div', 'custseg')(a, b)) }}
{%- endmacro %}

{% macro default__int_div(a, b) -%}
    div({{ a }}, {{ b }})
{%- endmacro %}

{% macro duckdb__int_div(a, b) -%}
    ({{ a }} // {{ b }})
{%- endmacro %}

{% macro bit_flag(position) -%}
    {{ return(adapter.dispatch('bit_flag', 'custseg')(position)) }}
{%- endmacro %}

{% macro default__bit_flag(position) -%}
    shiftleft(cast(1 as bigint), {{ position }})
{%- endmacro %}

{% macro duckdb__bit_flag(position) -%}
    (cast(1 as bigint) << cast({{ position }} as integer))
{%- endmacro %}

{% macro bit_count(expr) -%}
    {{ return(adapter.dispatch('bit_count', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__bit_count(expr) -%}
    bit_count({{ expr }})
{%- endmacro %}

{% macro bit_or_agg(expr) -%}
    {{ return(adapter.dispatch('bit_or_agg', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__bit_or_agg(expr) -%}
    bit_or({{ expr }})
{%- endmacro %}
