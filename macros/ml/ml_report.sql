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
    {{ return(adapter.dispatch('ml_report', 'custseg')(relation, model_kind, report, columns, carry)) }}
{%- endmacro %}

{% macro default__ml_report(relation, model_kind, report, columns, carry) -%}
    select
        {%- for column in carry %}
        report_rows.{{ column }},
        {%- endfor %}
        {%- for column in columns %}
        json_extract_string(report_rows.report_row, '$.{{ column }}') as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {%- for column in carry %}
            registry.{{ column }},
            {%- endfor %}
            unnest(json_extract(registry.reports, '$.{{ report }}.rows[*]')) as report_row
        from {{ relation }} as registry
        where registry.model_kind = '{{ model_kind }}'
    ) as report_rows
{%- endmacro %}

{% macro spark__ml_report(relation, model_kind, report, columns, carry) -%}
    select
        {%- for column in carry %}
        report_rows.{{ column }},
        {%- endfor %}
        {%- for column in columns %}
        get_json_object(report_rows.report_row, '$.{{ column }}') as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {%- for column in carry %}
            registry.{{ column }},
            {%- endfor %}
            -- an array of objects read as array<string> keeps each object's JSON text
            explode(from_json(get_json_object(registry.reports, '$.{{ report }}.rows'), 'array<string>'))
                as report_row
        from {{ relation }} as registry
        where registry.model_kind = '{{ model_kind }}'
    ) as report_rows
{%- endmacro %}
