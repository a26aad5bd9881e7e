{#
    inline_cte(): placed between `as` and `(` of a CTE over row-level data that is used more
    than once, so the engine inlines it instead of materialising it. DuckDB materialises such
    CTEs by default: at 100M lines that means holding every line in memory (and spilling)
    before the first consumer starts. Spark inlines CTEs anyway, so the default is nothing.

        with purchases as {{ inline_cte() }} ( select ... )
#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'custseg')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}
