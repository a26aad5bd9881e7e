{#
    ml_report(relation, model_kind, report, columns, carry=[]): the rows of one report of the
    ML layer, unpacked in SQL. Each registry row of `model_kind` in `relation` holds its reports
    as one JSON text (custseg.segmentation.reports):
    {"<report>": {"columns": {...}, "rows": [{"<column>": <value>, ...}, ...]}, ...}.
    One row per report row, with the registry columns `carry` and each of `columns` as text; the
    mart casts every column to its contracted type (text casts back to a double exactly, and
    "Infinity" / "-Infinity" to infinities). Names here are the project's own, never a user's.
#}
{% macro ml_report(relation, model_kind, report, columns, carry=[]) -%}
    select
        {%- for column in carry %}
        report_rows.{{ column }},
        {%- endfor %}
        {%- for column in columns %}
        {{ json_text('report_rows.report_row', column) }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {%- for column in carry %}
            registry.{{ column }},
            {%- endfor %}
            {{ json_rows('registry.reports', report) }} as report_row
        from {{ relation }} as registry
        where registry.model_kind = '{{ model_kind }}'
    ) as report_rows
{%- endmacro %}

{# json_rows(column, report): one row per element of the report's "rows" array, as JSON text #}
{% macro json_rows(column, report) -%}
    {{ return(adapter.dispatch('json_rows', 'custseg')(column, report)) }}
{%- endmacro %}

{% macro default__json_rows(column, report) -%}
    unnest(json_extract({{ column }}, '$.{{ report }}.rows[*]'))
{%- endmacro %}

{% macro spark__json_rows(column, report) -%}
    {#- an array of objects read as array<string> keeps each object's JSON text #}
    explode(from_json(get_json_object({{ column }}, '$.{{ report }}.rows'), 'array<string>'))
{%- endmacro %}

{# json_text(column, key): the value of `key` in a JSON object, as text (null for JSON null) #}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'custseg')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}
