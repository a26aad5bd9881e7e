{# bit_or_agg(expr): bitwise OR of an integer column over a group (Snowflake spells it BITOR_AGG). #}
{% macro bit_or_agg(expr) -%}
    {{ return(adapter.dispatch('bit_or_agg', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__bit_or_agg(expr) -%}
    bit_or({{ expr }})
{%- endmacro %}

{% macro snowflake__bit_or_agg(expr) -%}
    bitor_agg({{ expr }})
{%- endmacro %}
