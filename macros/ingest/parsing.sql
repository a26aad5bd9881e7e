{#
    Parsing helpers for raw text/native values. Each returns null where the value cannot be
    parsed, so the caller can flag the row as unparseable instead of failing the build.
#}

{# parse_number(expr): a double, or null. #}
{% macro parse_number(expr) -%}
    {{ return(adapter.dispatch('parse_number', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__parse_number(expr) -%}
    cast(nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '') as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__parse_number(expr) -%}
    {#- try_cast trims blanks itself and keeps native numbers off the text round trip -#}
    try_cast({{ expr }} as double)
{%- endmacro %}


{#
    parse_timestamp(expr): a timestamp from a native timestamp/date or from text. Text is tried
    as ISO first, then with var('date_format') if set, then with common retail export formats
    (month-first before day-first, as in the UCI CSV exports).
#}
{% macro parse_timestamp(expr) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__parse_timestamp(expr) -%}
    cast({{ expr }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__parse_timestamp(expr) -%}
    {%- set formats = [
        '%m/%d/%Y %H:%M', '%m/%d/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y %H:%M:%S',
        '%m/%d/%y %H:%M', '%d.%m.%Y %H:%M', '%d.%m.%Y %H:%M:%S', '%Y/%m/%d %H:%M:%S',
        '%m/%d/%Y', '%d/%m/%Y', '%d.%m.%Y'
    ] -%}
    {%- if var('date_format', '') -%}
        {%- set formats = [var('date_format')] + formats -%}
    {%- endif -%}
    coalesce(
        try_cast({{ expr }} as timestamp),
        try_strptime(trim(cast({{ expr }} as varchar)), [{% for f in formats %}'{{ f }}'{% if not loop.last %}, {% endif %}{% endfor %}])
    )
{%- endmacro %}


{#
    Identifiers are cleaned in two steps, so the text is computed once per value (the staging
    model puts them in consecutive CTEs):

    id_text(expr): the identifier as trimmed text. Dispatched: DuckDB formats a numeric id
    (Parquet often stores CustomerID as DOUBLE, 17850.0) as a whole number directly, with no text
    round trip; typeof() is a constant per column, so only one branch runs.

    clean_id(text): '', 'nan', 'none', 'null' (any case) become null, and a float suffix that
    spreadsheets and pandas add is dropped ('17850.0' -> '17850'). The first branch decides most
    values with two cheap checks: longer than any placeholder word and not ending in 0.
#}
{% macro id_text(expr) -%}
    {{ return(adapter.dispatch('id_text', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__id_text(expr) -%}
    trim(cast({{ expr }} as {{ dbt.type_string() }}))
{%- endmacro %}

{% macro duckdb__id_text(expr) -%}
    case
        when typeof({{ expr }}) in ('DOUBLE', 'FLOAT') then (
            case
                when isnan(try_cast({{ expr }} as double)) then null
                when try_cast({{ expr }} as double) = trunc(try_cast({{ expr }} as double))
                    and abs(try_cast({{ expr }} as double)) < 1e18
                    then cast(cast(try_cast({{ expr }} as double) as bigint) as varchar)
                else cast({{ expr }} as varchar)
            end
        )
        else trim(cast({{ expr }} as varchar))
    end
{%- endmacro %}

{% macro clean_id(text) -%}
    case
        when length({{ text }}) > 4 and {{ text }} not like '%0' then {{ text }}
        when lower({{ text }}) in ('', 'nan', 'none', 'null') then null
        when {{ text }} like '%.%0' then regexp_replace({{ text }}, '\.0+$', '')
        else {{ text }}
    end
{%- endmacro %}


{# normalize_text(expr): trimmed text, empty -> null. #}
{% macro normalize_text(expr) -%}
    nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '')
{%- endmacro %}
