{#
    drop_python_temp_tables(relation): the post-hook of every Python model (dbt_project.yml).
    dbt-duckdb builds an incremental Python model's new rows in a table <name>__dbt_tmp<timestamp>
    of schema main, which its materialization leaves behind (it expects a temporary table, which
    a Python model cannot create), so each build left one more table in the warehouse and in the
    serving copy. This drops them: only tables of that exact name pattern, in the model's
    database (none for a table model).
#}
{% macro drop_python_temp_tables(relation) -%}
    {{ return(adapter.dispatch('drop_python_temp_tables', 'custseg')(relation)) }}
{%- endmacro %}

{% macro default__drop_python_temp_tables(relation) -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__drop_python_temp_tables(relation) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set prefix = relation.identifier ~ '__dbt_tmp' -%}
    {%- set leftovers = run_query(
        "select schema_name, table_name from duckdb_tables() where database_name = " ~ sql_string(relation.database)
        ~ " and schema_name = 'main' and starts_with(table_name, " ~ sql_string(prefix) ~ ")"
        ~ " and regexp_full_match(substr(table_name, " ~ (prefix | length + 1) ~ "), '[0-9]+')"
    ) -%}
    {%- set statements = [] -%}
    {%- for row in leftovers.rows -%}
        {%- do statements.append('drop table ' ~ sql_identifier(relation.database) ~ '.' ~ sql_identifier(row[0])
                                 ~ '.' ~ sql_identifier(row[1])) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
