{#
    sorted_listagg(measure, delimiter_text): the values of a group joined in sorted order, the
    same text on every engine, whatever order the rows arrive in (a fingerprint hashes it).
    Dispatched: dbt's listagg takes an order by clause on DuckDB; on Spark it warns and ignores
    one, so Spark sorts the collected list itself.
#}
{% macro sorted_listagg(measure, delimiter_text) -%}
    {{ return(adapter.dispatch('sorted_listagg', 'custseg')(measure, delimiter_text)) }}
{%- endmacro %}

{% macro default__sorted_listagg(measure, delimiter_text) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ measure) }}
{%- endmacro %}

{% macro spark__sorted_listagg(measure, delimiter_text) -%}
    array_join(array_sort(collect_list({{ measure }})), {{ delimiter_text }})
{%- endmacro %}
