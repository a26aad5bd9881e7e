{#
    row_hash(columns): one 64-bit hash of several columns, used to find candidate duplicate
    lines cheaply before comparing them column by column. Equal rows always hash alike; unequal
    rows may collide, so callers must confirm on the columns themselves.
    Dispatched: DuckDB has a native multi-argument hash(); elsewhere an md5 of the values with a
    separator and a null marker (dbt.hash) does the same job.
#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'custseg')(columns)) }}
{%- endmacro %}

{% macro default__row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro duckdb__row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}
