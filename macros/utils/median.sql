{#
    median(expr): the 50th percentile (continuous), as an aggregate. ANSI ordered-set syntax by
    default; engines with a plain median() may override.
#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}
