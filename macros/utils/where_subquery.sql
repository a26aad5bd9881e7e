{#
    Data tests on the line-level models check the lines this build loaded.

    dbt wraps the model a generic test reads in get_where_subquery(); this override adds, for
    the line store and the two marts that are views over it (line_level_models()), a filter to
    the batches this build appended. The store is append-only: a line was checked by these
    tests in the build that loaded it and cannot change afterwards (a --full-refresh reloads
    every file and tests every line again). So a weekly batch costs tests over its own lines,
    not over the whole history (at 100M stored lines, ~30 scans of 100M rows). Tests on
    customers, segments and models, and the singular tests, still check everything;
    tests/singular/assert_raw_rows_reconcile scopes itself the same way.

    The filter is a literal (batch_id >= the first batch of this build), so DuckDB skips the
    older row groups by their statistics. It is left out, and every line is tested, when the
    invocation loaded every line (the first build, a --full-refresh) or none (every file
    already there, or a separate `dbt test`). A `where:` config set on a test still applies.
#}
{% macro line_level_models() -%}
    {{ return(['int_transactions__classified', 'fct_transactions', 'fct_transaction_quarantine']) }}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append(where) -%}
    {%- endif -%}
    {%- if relation.identifier in line_level_models() -%}
        {%- set batch_filter = this_build_batch_filter() -%}
        {%- if batch_filter -%}
            {%- do conditions.append(batch_filter) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{# this_build_batch_filter(): the condition "loaded by this build" on batch_id, or none (all lines). #}
{% macro this_build_batch_filter() -%}
    {%- set store = line_store_relation() if execute and not flags.FULL_REFRESH else none -%}
    {%- if store is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set now = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- set query -%}
        select
            (select min(batch_id) from {{ store }}
             where loaded_at = cast({{ sql_string(now) }} as {{ dbt.type_timestamp() }})) as first_batch,
            (select min(batch_id) from {{ store }}) as oldest_batch
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if row[0] is none or row[0] == row[1] -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('batch_id >= ' ~ (row[0] | int)) }}
{%- endmacro %}
