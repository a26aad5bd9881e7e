{#
    Batches (docs/segments-over-time.md). Each build loads, as one new batch, the files that
    transactions_path names and whose content the warehouse does not hold yet; a file already
    loaded (same SHA-256 of its bytes, whatever its name) is skipped with a message and never
    counted twice. The line store int_transactions__classified is the one record of what was
    loaded: every line carries its batch_id, source_file, file_fingerprint and loaded_at, and
    the ledger marts.fct_batches is derived from it, so a build killed half-way leaves no batch
    that the ledger and the lines disagree on (one insert is one transaction).

    `dbt build --full-refresh` rebuilds from every file loaded so far plus transactions_path;
    each file keeps its batch id and load time.
#}


{# line_store_relation(): the line store as it exists in the warehouse now, or none. #}
{% macro line_store_relation() -%}
    {%- set node = graph.nodes.get('model.custseg.int_transactions__classified') -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}


{#
    loaded_batches(): one dict per file loaded so far: batch_id, source_file, file_fingerprint,
    loaded_at (text). Empty before the first build (or for a store built before batches existed;
    its next build must be a --full-refresh, which the store's on_schema_change: fail demands).
#}
{% macro loaded_batches() -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set store = line_store_relation() -%}
    {%- if store is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(store) | map(attribute='name') | list -%}
    {%- if 'file_fingerprint' not in columns -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select batch_id, source_file, file_fingerprint, cast(min(loaded_at) as " ~ dbt.type_string()
        ~ ") as loaded_at from " ~ store ~ " group by batch_id, source_file, file_fingerprint"
        ~ " order by batch_id, source_file"
    ) -%}
    {%- set out = [] -%}
    {%- for row in rows.rows -%}
        {%- do out.append({'batch_id': row[0] | int, 'source_file': row[1], 'file_fingerprint': row[2],
                           'loaded_at': row[3]}) -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}


{#
    is_full_reload(): this build rebuilds the line store from every loaded file: on
    `dbt build --full-refresh`, or when a database pull replaces rows already loaded (or a new
    snapshot of a table read whole replaces the last one; custseg.inputs.pulls).
#}
{% macro is_full_reload() -%}
    {{ return(is_full_refresh_reload() or table_reload()) }}
{%- endmacro %}

{# is_full_refresh_reload(): `dbt build --full-refresh` over an existing line store. #}
{% macro is_full_refresh_reload() -%}
    {{ return(execute and flags.FULL_REFRESH and line_store_relation() is not none) }}
{%- endmacro %}

{#
    table_reload(): this build's database pull replaces loaded rows, so the line store and every
    table kept incrementally from it are rebuilt from the current rows (should_full_refresh).
#}
{% macro table_reload() -%}
    {%- if not execute or not var('transactions_table', '') or var('customers_path', '') -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set src = transactions_source() -%}
    {{ return(src is not none and src['pull'] is not none and src['pull']['reload']) }}
{%- endmacro %}


{#
    batch_plan(src, loaded): which files of the probed input this build reads, and the batch of
    each. Returns selected (file_index list), batch_of / loaded_at_of / file_of / fingerprint_of
    (by file_index), batch_id (the new batch's id), new_files and skipped (one dict per file left
    out: file, fingerprint, reason same_content_in_input | already_loaded, same_as_file,
    same_as_batch_id; listed in marts.fct_skipped_files).
#}
{% macro batch_plan(src, loaded) -%}
    {%- set known = {} -%}
    {%- set ids = [0] -%}
    {%- for batch in loaded -%}
        {%- do known.update({batch['file_fingerprint']: batch}) -%}
        {%- do ids.append(batch['batch_id']) -%}
    {%- endfor -%}
    {%- set new_id = (ids | max) + 1 -%}
    {%- set reload = is_full_reload() -%}
    {%- set plan = {'selected': [], 'batch_of': {}, 'loaded_at_of': {}, 'file_of': {}, 'fingerprint_of': {},
                    'batch_id': new_id, 'new_files': [], 'skipped': []} -%}
    {%- set first_of = {} -%}
    {%- for fingerprint in src['fingerprints'] -%}
        {%- set i = loop.index0 -%}
        {%- set file = src['source_files'][i] -%}
        {%- if fingerprint in first_of -%}
            {%- do plan['skipped'].append({'file': file, 'fingerprint': fingerprint, 'reason': 'same_content_in_input',
                                           'same_as_file': first_of[fingerprint], 'same_as_batch_id': none}) -%}
        {%- elif fingerprint in known and not reload -%}
            {%- do plan['skipped'].append({'file': file, 'fingerprint': fingerprint, 'reason': 'already_loaded',
                                           'same_as_file': known[fingerprint]['source_file'],
                                           'same_as_batch_id': known[fingerprint]['batch_id']}) -%}
        {%- else -%}
            {%- do first_of.update({fingerprint: file}) -%}
            {%- do plan['selected'].append(i) -%}
            {%- do plan['file_of'].update({i: file}) -%}
            {%- do plan['fingerprint_of'].update({i: fingerprint}) -%}
            {%- if fingerprint in known -%}
                {%- do plan['batch_of'].update({i: known[fingerprint]['batch_id']}) -%}
                {%- do plan['loaded_at_of'].update({i: known[fingerprint]['loaded_at']}) -%}
            {%- else -%}
                {%- do plan['batch_of'].update({i: new_id}) -%}
                {%- do plan['loaded_at_of'].update({i: none}) -%}
                {%- do plan['new_files'].append(file) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if reload and src.get('pull') is none -%}
        {#- every loaded file must be read again with the content it was loaded with (a database
            source's reload reads the current rows: a replaced snapshot is gone on purpose) -#}
        {%- set present = src['fingerprints'] -%}
        {%- for batch in loaded if batch['file_fingerprint'] not in present -%}
            {{ exceptions.raise_compiler_error(
                "Transactions input problem: a full refresh rebuilds from every loaded file, and "
                ~ batch['source_file'] ~ " (batch " ~ batch['batch_id'] ~ ") no longer has the content it "
                ~ "was loaded with. Restore that file, or start over: delete the warehouse file and "
                ~ "load the files you have."
            ) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{# batch_column_sql(plan, key): a per-file value of the plan as a SQL case over file_index. #}
{% macro batch_column_sql(plan, key) -%}
    {%- set types = {'batch_of': 'integer', 'loaded_at_of': 'timestamp'} -%}
    {%- set now = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- if not plan['selected'] -%}
    cast(null as {{ types.get(key, dbt.type_string()) }})
    {%- else -%}
    cast(case file_index
    {%- for i in plan['selected'] %}
        {%- set value = plan[key][i] %}
        when {{ i }} then {{ value if key == 'batch_of' else sql_string(now if value is none else value) }}
    {%- endfor %}
    end as {{ types.get(key, dbt.type_string()) }})
    {%- endif -%}
{%- endmacro %}


{#
    row_in_file_sql(src, plan): a line's 1-based row in its file. Parquet has file_row_number
    (computed in parallel); CSV is numbered in scan order (files in name order, one thread) and
    each file's rows are counted from the rows of the selected files before it.
#}
{% macro row_in_file_sql(src, plan) -%}
    {%- if src['format_read'] == 'parquet' -%}
        file_row_number + 1
    {%- elif plan['selected'] | length <= 1 -%}
        row_number() over ()
    {%- else -%}
        {%- set state = {'offset': 0} -%}
        row_number() over () - case file_index
        {%- for i in plan['selected'] %} when {{ i }} then {{ state['offset'] }}
            {%- do state.update({'offset': state['offset'] + src['file_rows'][i]}) -%}
        {%- endfor %} end
    {%- endif -%}
{%- endmacro %}


{# batch_log(plan): what this build loads, for the pre-flight message. #}
{% macro batch_log(plan) -%}
    {%- if plan['new_files'] -%}
        {%- set text = "Batch " ~ plan['batch_id'] ~ ": " ~ plan['new_files'] | length ~ " new file(s)" -%}
    {%- else -%}
        {%- set text = "Nothing new to load: every file is already in the warehouse" -%}
    {%- endif -%}
    {%- if plan['skipped'] -%}
        {%- set described = [] -%}
        {%- for skip in plan['skipped'] -%}
            {%- do described.append(skip['file'] ~ (
                " (same content as " ~ skip['same_as_file'] ~ ")" if skip['reason'] == 'same_content_in_input'
                else " (already loaded as batch " ~ skip['same_as_batch_id'] ~ ")")) -%}
        {%- endfor -%}
        {%- set text = text ~ "; skipped " ~ described | join(', ') ~ " (listed in marts.fct_skipped_files)" -%}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}
