{#
    transactions_source(): checks the configured transactions input and returns how to read it.

    Returns a dict with `reader_sql` (a relation expression over the file(s)), `mapping`
    (canonical field -> source column or none) and `types`. Any problem with the input (no such
    file, unknown extension, empty, unreadable, missing required column) stops the build here
    with a message that says what is wrong and how to fix it, before any table is written.
    The probe (custseg.inputs.transactions.probe_source) runs in Python through custseg_check().
#}
{% macro transactions_source() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {#- every input var travels as one JSON value; the check caches the answer -#}
    {%- set result = custseg_check('probe_source', input_options()) -%}
    {%- if not result['ok'] -%}
        {{ exceptions.raise_compiler_error("Transactions input problem: " ~ result['error']) }}
    {%- endif -%}
    {%- do result.update({'reader_sql': transactions_reader_sql(result)}) -%}
    {{ return(result) }}
{%- endmacro %}


{#
    transactions_reader_sql(src): a relation over the probed files with a file_index column (the
    file's position in src['files']) and, for Parquet, file_row_number (0-based). Dispatched:
    DuckDB takes the probe's read_csv/read_parquet expression; Spark reads Parquet natively
    (a CSV or XLSX input on Spark: see spark__transactions_reader_sql).
#}
{% macro transactions_reader_sql(src) -%}
    {{ return(adapter.dispatch('transactions_reader_sql', 'custseg')(src)) }}
{%- endmacro %}

{% macro default__transactions_reader_sql(src) -%}
    {{ return(src['reader_sql']) }}
{%- endmacro %}

{% macro spark__transactions_reader_sql(src) -%}
    {%- if src['format_read'] != 'parquet' -%}
        {{ exceptions.raise_compiler_error(
            "Transactions input problem: on Spark the transactions are read as Parquet, and "
            ~ src['files'] | join(', ') ~ " is " ~ src['format'] | upper ~ ". Convert it to Parquet once "
            ~ "(with DuckDB: COPY (FROM read_csv('in.csv', all_varchar = true)) TO 'in.parquet') and set "
            ~ "transactions_path to the Parquet file."
        ) }}
    {%- endif -%}
    {#- columns by name (UNION ALL is positional): every file must have every column. Spark reads
        a nanosecond timestamp (pandas' default) as its integer (spark.sql.legacy.parquet.nanosAsLong
        in profiles.yml; without it the read fails with PARQUET_TYPE_ILLEGAL): it becomes a
        timestamp again here, to the microsecond as on DuckDB -#}
    {%- set columns = [] -%}
    {%- for column in src['columns'] -%}
        {%- if column in src.get('nanosecond_columns', []) -%}
            {%- do columns.append("timestamp_micros(" ~ sql_identifier(column) ~ " div 1000) as "
                                  ~ sql_identifier(column)) -%}
        {%- else -%}
            {%- do columns.append(sql_identifier(column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set parts = [] -%}
    {%- for file in src['files'] -%}
        {%- do parts.append("select " ~ loop.index0 ~ " as file_index, _metadata.row_index as file_row_number, "
                            ~ columns | join(", ") ~ " from parquet." ~ spark_path(file)) -%}
    {%- endfor -%}
    {{ return("(" ~ parts | join(" union all ") ~ ")") }}
{%- endmacro %}


{#
    spark_path(path): a file path as Spark SQL's back-quoted path identifier (backquotes doubled),
    read by its literal name: Spark expands Hadoop globs in every path (`\ { } [ ] * ?`), so each
    of those characters is backslash-escaped.
#}
{% macro spark_path(path) -%}
    {%- set literal = modules.re.sub('([\\\\{}\\[\\]*?])', '\\\\\\1', path) -%}
    {{ return("`" ~ literal | replace("`", "``") ~ "`") }}
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
