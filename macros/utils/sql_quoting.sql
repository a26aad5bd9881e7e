{#
    sql_string(value): a SQL string literal with single quotes doubled, for any value that comes
    from a var, an env value, a file or a table. dbt.string_literal() does not escape: a path
    like O'Brien.csv ended the literal early, and a crafted one could run its own statement.

    sql_identifier(name): a quoted identifier with double quotes doubled (column names come from
    the user's file; adapter.quote() does not escape either).
#}
{% macro sql_string(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}

{% macro sql_identifier(name) -%}
    {{ return('"' ~ (name | string).replace('"', '""') ~ '"') }}
{%- endmacro %}
