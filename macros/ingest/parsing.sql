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
    parse_timestamp(expr, formats): a timestamp from a native timestamp/date or from text. Text
    is tried as ISO first, then with the given strptime formats (transactions_date_formats():
    one family per file, so a file is never read month-first for some lines and day-first for
    others). Every format is an escaped literal.
#}
{% macro parse_timestamp(expr, formats=[]) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'custseg')(expr, formats)) }}
{%- endmacro %}

{% macro default__parse_timestamp(expr, formats=[]) -%}
    cast({{ expr }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Spark: ISO text by cast (null when it does not read: dbt-spark turns ANSI mode off), then each
    format as a Java datetime pattern (spark_datetime_pattern). -#}
{% macro spark__parse_timestamp(expr, formats=[]) -%}
    coalesce(
        cast({{ expr }} as timestamp)
        {%- for f in formats %},
        try_to_timestamp(trim(cast({{ expr }} as string)), {{ sql_string(spark_datetime_pattern(f)) }})
        {%- endfor %}
    )
{%- endmacro %}

{#
    spark_datetime_pattern(format): a strptime format as a Java/Spark datetime pattern, e.g.
    '%d/%m/%Y %H:%M' -> 'd/M/yyyy H:m' (one-letter fields read one or two digits, as strptime
    does); letters outside directives are quoted. One difference: %y reads 00-99 as 2000-2099
    on Spark (strptime: 69-99 as 1969-1999).
#}
{% macro spark_datetime_pattern(format) -%}
    {%- set directives = {'Y': 'yyyy', 'y': 'yy', 'm': 'M', 'd': 'd', 'H': 'H', 'I': 'h', 'M': 'm', 'S': 's',
                          'p': 'a', 'b': 'MMM', 'B': 'MMMM', 'f': 'SSSSSS', '%': '%'} -%}
    {%- set state = {'out': '', 'directive': false} -%}
    {%- for char in format -%}
        {%- if state['directive'] -%}
            {%- if char not in directives -%}
                {{ exceptions.raise_compiler_error(
                    "Setting problem: date format " ~ format ~ " uses %" ~ char ~ ", which the Spark target "
                    ~ "cannot read; use %Y %y %m %d %H %I %M %S %p %b %B %f.") }}
            {%- endif -%}
            {%- do state.update({'out': state['out'] ~ directives[char], 'directive': false}) -%}
        {%- elif char == '%' -%}
            {%- do state.update({'directive': true}) -%}
        {%- elif char.isalpha() or char == "'" -%}
            {%- do state.update({'out': state['out'] ~ "'" ~ (char if char != "'" else "''") ~ "'"}) -%}
        {%- else -%}
            {%- do state.update({'out': state['out'] ~ char}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(state['out']) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp(expr, formats=[]) -%}
    {%- if formats -%}
    coalesce(
        try_cast({{ expr }} as timestamp),
        try_strptime(trim(cast({{ expr }} as varchar)), [{% for f in formats %}{{ sql_string(f) }}{% if not loop.last %}, {% endif %}{% endfor %}])
    )
    {%- else -%}
    try_cast({{ expr }} as timestamp)
    {%- endif -%}
{%- endmacro %}


{#
    is_out_of_range(expr): true when a parsed number is NaN, infinite or of a magnitude no real
    quantity, price or amount has (1e12 and above: such a value overflows the exact money sums).
#}
{% macro is_out_of_range(expr) -%}
    {{ return(adapter.dispatch('is_out_of_range', 'custseg')(expr)) }}
{%- endmacro %}

{% macro default__is_out_of_range(expr) -%}
    coalesce(not ({{ expr }} > -1e12 and {{ expr }} < 1e12), false)
{%- endmacro %}

{% macro duckdb__is_out_of_range(expr) -%}
    coalesce(not isfinite({{ expr }}) or abs({{ expr }}) >= 1e12, false)
{%- endmacro %}


{#
    Identifiers are cleaned in two steps, so the text is computed once per value (the staging
    model puts them in consecutive CTEs):

    id_text(expr): the identifier as trimmed text. Dispatched: DuckDB and Spark format a numeric
    id (Parquet often stores CustomerID as DOUBLE, 17850.0) as a whole number directly, with no
    text round trip; typeof() is a constant per column, so only one branch runs.

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

{#- DuckDB and Spark both know typeof(), try_cast, floor and isnan; they spell the type names
    in different cases. -#}
{% macro duckdb__id_text(expr) -%}
    {{ whole_number_id_text(expr) }}
{%- endmacro %}

{% macro spark__id_text(expr) -%}
    {{ whole_number_id_text(expr) }}
{%- endmacro %}

{% macro whole_number_id_text(expr) -%}
    {%- set as_double = 'try_cast(' ~ expr ~ ' as double)' -%}
    case
        when lower(typeof({{ expr }})) in ('double', 'float') then (
            case
                when isnan({{ as_double }}) then null
                when {{ as_double }} = floor({{ as_double }})
                    and abs({{ as_double }}) < 1e18
                    then cast(cast({{ as_double }} as bigint) as {{ dbt.type_string() }})
                else cast({{ expr }} as {{ dbt.type_string() }})
            end
        )
        else trim(cast({{ expr }} as {{ dbt.type_string() }}))
    end
{%- endmacro %}

{% macro clean_id(text) -%}
    case
        when length({{ text }}) > 4 and {{ text }} not like '%0' then {{ text }}
        when lower({{ text }}) in ('', 'nan', 'none', 'null') then null
        when {{ text }} like '%.%0' then regexp_replace({{ text }}, '[.]0+$', '')
        else {{ text }}
    end
{%- endmacro %}


{# normalize_text(expr): trimmed text, empty -> null. #}
{% macro normalize_text(expr) -%}
    nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '')
{%- endmacro %}
