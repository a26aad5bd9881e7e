{#
  The descriptions BI tools show (dbt_project.yml: +persist_docs; docs/serving.md), written on
  DuckDB as dbt-duckdb writes them, in one statement per model: the table's or view's comment
  and its columns' together. dbt-duckdb's macros send two statements and read the relation's
  columns twice; here they are read once, and not at all for a model whose contract is enforced
  (its columns are its YAML's, checked before the table was created): a cold demo build's CPU
  14.0 s to 13.2 s (docs/benchmarks.md). Other engines keep their adapter's macros.
#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
  {%- set statements = [] -%}
  {%- if for_relation and config.persist_relation_docs() and model.description -%}
    {%- do statements.append("comment on " ~ relation.type ~ " " ~ relation ~ " is " ~ duckdb_escape_comment(model.description)) -%}
  {%- endif -%}
  {%- if for_columns and config.persist_column_docs() and model.columns -%}
    {%- set columns = model.columns -%}
    {%- if not config.get('contract').enforced -%}
      {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
      {%- set columns = validate_doc_columns(relation, model.columns, existing) -%}
    {%- endif -%}
    {%- for name, column in columns.items() -%}
      {%- set quoted = adapter.quote(name) if column['quote'] else name -%}
      {%- do statements.append("comment on column " ~ relation ~ "." ~ quoted ~ " is " ~ duckdb_escape_comment(column['description'])) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if statements -%}
    {%- call statement('persist_docs') -%}
      {{ statements | join(";\n") }}
    {%- endcall -%}
  {%- endif -%}
{%- endmacro %}
