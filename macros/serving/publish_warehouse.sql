{#
    publish_warehouse(results): the publish step, run by the on-run-end hook.

    After a `dbt build` or `dbt run` in which nothing failed, the working database is
    checkpointed (everything in the WAL written to the file) and copied byte for byte (tables,
    views, comments) to `<serving path>.publishing`, which then replaces the serving database
    with one atomic rename. The replaced file is kept as `<serving path>.spare`; the next publish
    reuses it when no reader has it open and writes only the blocks that changed (a weekly batch
    at 100M lines: ~0.7 of 4.4 GB). A file copy costs what the disk costs (~0.2 s for a 5M-line build);
    COPY FROM DATABASE, used before, re-encoded every table and took 2.9 s there. BI tools, notebooks and the dashboard
    open the serving database (read-only) and never block the build, which writes only the
    working database. A failed or partial-failure run publishes nothing, so the last good copy
    stays in place. Serving path: env CUSTSEG_SERVING_PATH (default warehouse/custseg.duckdb).
    Turn off with --vars '{publish: false}'.
#}
{% macro publish_warehouse(results) -%}
    {%- if not execute or flags.WHICH not in ['build', 'run'] or not var('publish', true) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set problems = [] -%}
    {%- for result in results -%}
        {%- if result.status in ['error', 'fail', 'runtime error', 'skipped'] -%}
            {%- do problems.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set serving = env_var('CUSTSEG_SERVING_PATH', 'warehouse/custseg.duckdb') -%}
    {%- if problems -%}
        {{ log("Not published: " ~ problems | length ~ " node(s) did not succeed (" ~ problems[:5] | join(', ')
               ~ "). " ~ serving ~ " still serves the last good build.", info=True) }}
        {{ return('') }}
    {%- endif -%}
    {{ return(adapter.dispatch('publish_warehouse', 'custseg')(serving)) }}
{%- endmacro %}

{% macro default__publish_warehouse(serving) -%}
    {{ log("Publishing is implemented for DuckDB only; nothing published.", info=True) }}
{%- endmacro %}

{% macro duckdb__publish_warehouse(serving) -%}
    {%- set working = run_query("select path from duckdb_databases() where database_name = "
                                ~ sql_string(target.database)).columns[0].values()[0] -%}
    {%- set problem = run_query("select custseg_check_serving(" ~ sql_string(serving) ~ ")").columns[0].values()[0] -%}
    {%- if problem -%}
        {{ exceptions.raise_compiler_error("Not published: " ~ problem) }}
    {%- endif -%}
    {%- set started = modules.datetime.datetime.now() -%}
    {%- do run_query("checkpoint") -%}
    {%- set checkpointed = modules.datetime.datetime.now() -%}
    {%- set answer = fromjson(run_query("select custseg_publish_file(" ~ sql_string(working) ~ ", "
                                        ~ sql_string(serving) ~ ")").columns[0].values()[0]) -%}
    {%- if answer.get('problem') -%}
        {{ exceptions.raise_compiler_error(answer['problem']) }}
    {%- endif -%}
    {%- set copied = answer['written'] -%}
    {%- set done = modules.datetime.datetime.now() -%}
    {{ log("Published the warehouse to " ~ serving ~ " (open it read-only from BI tools; checkpoint "
           ~ '%.1f' | format((checkpointed - started).total_seconds()) ~ " s, copy "
           ~ '%.1f' | format((done - checkpointed).total_seconds()) ~ " s: " ~ copied ~ ").", info=True) }}
    {%- do sync_audiences(serving) -%}
{%- endmacro %}


{#
    sync_audiences(serving): after the publish, the segments upserted into the database whose URL
    is in the environment variable CUSTSEG_SYNC_URL, when set (custseg.sync; docs/database.md).
    The URL is read in Python only (an env_var() here would be recorded in dbt's target files).
    A failed sync leaves the publish in place and stops the run with the reason, so dbt exits
    non-zero for the scheduler; the next build or `custseg sync` repairs it.
#}
{% macro sync_audiences(serving) -%}
    {%- set options = {'sync_schema': var('sync_schema', 'custseg'), 'run_id': invocation_id} -%}
    {%- set answer = fromjson(run_query("select custseg_sync(" ~ sql_string(serving) ~ ", "
                                        ~ sql_string(tojson(options)) ~ ")").columns[0].values()[0]) -%}
    {%- if answer.get('problem') -%}
        {{ exceptions.raise_compiler_error("Published, but not synced: " ~ answer['problem']
            ~ " The next build or `custseg sync` writes it.") }}
    {%- elif answer.get('synced') -%}
        {{ log("Synced the segments to the database in CUSTSEG_SYNC_URL: " ~ answer['synced'], info=True) }}
    {%- endif -%}
{%- endmacro %}
