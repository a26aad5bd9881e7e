{#
    transactions_source(): checks the configured transactions input and returns how to read it.

    Returns a dict with `reader_sql` (a relation expression over the file(s)), `mapping`
    (canonical field -> source column or none) and `types`. Any problem with the input (no such
    file, unknown extension, empty, unreadable, missing required column) stops the build here
    with a message that says what is wrong and how to fix it, before any table is written.
    Dispatched: the DuckDB version asks the custseg plugin's UDF; another engine would read
    its own catalog.
#}
{% macro transactions_source() -%}
    {{ return(adapter.dispatch('transactions_source', 'custseg')()) }}
{%- endmacro %}

{% macro default__transactions_source() -%}
    {{ exceptions.raise_compiler_error(
        "transactions_source() is implemented for DuckDB only (adapter: " ~ adapter.type() ~ ")."
    ) }}
{%- endmacro %}

{% macro duckdb__transactions_source() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {#- every input var travels as one JSON value in one escaped literal; the plugin caches the answer -#}
    {%- set probe_sql = "select custseg_probe_source(" ~ sql_string(tojson(input_options())) ~ ")" -%}
    {%- set result = fromjson(run_query(probe_sql).columns[0].values()[0]) -%}
    {%- if not result['ok'] -%}
        {{ exceptions.raise_compiler_error("Transactions input problem: " ~ result['error']) }}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}


{#
    transactions_date_formats(): the strptime formats for text dates: var('date_format') when
    set, else the family the probe chose for this file (month-first or day-first, decided once
    for the whole file). Dbt unit tests set date_format in their overrides, so they never read
    the user's file.
#}
{% macro transactions_date_formats() -%}
    {%- if var('date_format', '') -%}
        {{ return([var('date_format')]) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(transactions_source()['date_formats']) }}
{%- endmacro %}


{#
    transactions_column(source, field): the source column for a canonical field, quoted, or a
    typed null when the file does not have it.
#}
{% macro transactions_column(source, field) -%}
    {%- set column = source['mapping'][field] if source is not none else none -%}
    {%- if column is none -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        {{ sql_identifier(column) }}
    {%- endif -%}
{%- endmacro %}
