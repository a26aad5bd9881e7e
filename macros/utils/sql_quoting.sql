{#
    sql_string(value): a SQL string literal for any value that comes from a var, an env value, a
    file or a table. dbt.string_literal() does not escape: a path like O'Brien.csv ended the
    literal early, and a crafted one could run its own statement. Standard SQL (DuckDB) doubles
    single quotes; Spark SQL reads backslash escapes and joins adjacent literals ('a''b' is
    'ab'), so there backslashes and quotes are escaped with a backslash.

    sql_identifier(name): a quoted identifier with its quote character doubled (column names
    come from the user's file; adapter.quote() does not escape either): "name" in standard
    SQL, `name` on Spark.
#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'custseg')(value)) }}
{%- endmacro %}

{% macro default__sql_string(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro spark__sql_string(value) -%}
    {{ return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "\\'") ~ "'") }}
{%- endmacro %}

{% macro sql_identifier(name) -%}
    {{ return(adapter.dispatch('sql_identifier', 'custseg')(name)) }}
{%- endmacro %}

{% macro default__sql_identifier(name) -%}
    {{ return('"' ~ (name | string).replace('"', '""') ~ '"') }}
{%- endmacro %}

{% macro spark__sql_identifier(name) -%}
    {{ return('`' ~ (name | string).replace('`', '``') ~ '`') }}
{%- endmacro %}
