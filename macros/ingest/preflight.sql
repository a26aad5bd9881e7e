{#
    preflight(): the on-run-start hook. Before any seed, test or model runs, it checks every var
    (dates, segmentation and classifier settings; custseg.settings) and, when the build reads
    the transactions, the input itself (custseg.inputs.transactions.probe_source). A problem stops the build
    within seconds of dbt's start with one message that says what is wrong and how to fix it,
    and nothing is written (the publish step never runs).

    Vars reach the Python checks as one JSON value in one escaped SQL string literal.
#}
{% macro preflight() -%}
    {%- if not execute or flags.WHICH not in ['build', 'run', 'test', 'seed', 'compile'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set result = custseg_check('check_settings', settings_options()) -%}
    {%- if not result['ok'] -%}
        {{ exceptions.raise_compiler_error("Setting problem: " ~ result['error']) }}
    {%- endif -%}
    {%- if 'model.custseg.stg_customer_table__customers' in selected_resources -%}
        {%- set src = customer_table_source() -%}
        {{ log("Customer table checked: " ~ src['rows'] ~ " rows, id column " ~ src['id_column'] ~ "; "
               ~ custseg_column_kinds(src), info=True) }}
        {%- if src.get('date_note') -%}
            {{ log("Note on dates: " ~ src['date_note'], info=True) }}
        {%- endif -%}
    {%- endif -%}
    {%- if 'model.custseg.base_retail__transactions' in selected_resources -%}
        {%- set src = transactions_source() -%}
        {%- if src['pull'] is not none -%}
            {{ log(pull_log(src['pull']), info=True) }}
        {%- endif -%}
        {{ log("Input checked: " ~ src['files'] | length ~ " " ~ src['format'] ~ " file(s), columns "
               ~ src['mapping'].values() | reject('none') | join(', ')
               ~ (", text dates read " ~ src['date_order'] if src['date_formats'] else ""), info=True) }}
        {%- if src['date_note'] -%}
            {{ log("Note on dates: " ~ src['date_note'], info=True) }}
        {%- endif -%}
        {%- if src.get('input_note') -%}
            {{ log("Note on the input: " ~ src['input_note'], info=True) }}
        {%- endif -%}
        {{ log(batch_log(batch_plan(src, loaded_batches())), info=True) }}
        {%- do check_calibration_end(src) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{# pull_log(pull): what a database source's pull read, for the pre-flight message (never the URL). #}
{% macro pull_log(pull) -%}
    {%- if not pull['pulled'] -%}
        {{ return("Not pulled from transactions_table: only dbt build and dbt run pull it; dbt " ~ flags.WHICH
                  ~ " reads the last pull the warehouse loaded") }}
    {%- endif -%}
    {%- set window = (" changed after " ~ pull['window'][0] if pull['window'][0] else "")
                     ~ (" up to " ~ pull['window'][1] if pull['window'][1] else "") -%}
    {%- set text = "Pulled " ~ pull['rows'] ~ " row(s) from transactions_table" ~ window
                   ~ " (" ~ pull['mode'] ~ " mode)" -%}
    {%- if pull['replaced'] -%}
        {%- set text = text ~ "; " ~ pull['replaced'] ~ " replace rows already loaded" -%}
    {%- endif -%}
    {%- if pull['reload'] -%}
        {%- set text = text ~ ": the line store and the customer tables are rebuilt from the current rows" -%}
    {%- elif pull['rows'] == 0 -%}
        {%- set text = text ~ ": nothing changed" -%}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}


{#
    check_calibration_end(src): clv_calibration_end must leave purchases on both sides
    (custseg.value.config.calibration_end_problem), checked against the input's first and last
    day, which the probe answers when the var is set.
#}
{% macro check_calibration_end(src) -%}
    {%- if var('clv_calibration_end', none) and src.get('date_range') -%}
        {%- set result = custseg_check('check_calibration_end', {
            'clv_calibration_end': var('clv_calibration_end') | string,
            'as_of_date': (var('as_of_date', none) or '') | string,
            'date_range': src['date_range'],
            'batches_loaded': loaded_batches() | length > 0,
        }) -%}
        {%- if not result['ok'] -%}
            {{ exceptions.raise_compiler_error("Setting problem: " ~ result['error']) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#
    input_options(): the vars that say what to read, as the probe takes them; on a full refresh,
    also the files of every batch loaded so far (macros/ingest/batches.sql). A database source
    (transactions_table; docs/database.md) also gets the pull folder beside the working
    warehouse and the pull files the line store holds (the probe's answer is computed once per
    dbt invocation, at the pre-flight: custseg.dbt_plugin.Checks).
#}
{% macro input_options() -%}
    {#- pull_now: only the commands that load pull a database source; compile, docs generate and
        show read the last pull the warehouse loaded -#}
    {%- set table = var('transactions_table', '') or '' -%}
    {%- set reload_files = [] -%}
    {%- set loaded_pulls = [] -%}
    {%- if table -%}
        {%- for batch in loaded_batches() if batch['source_file'] not in loaded_pulls -%}
            {%- do loaded_pulls.append(batch['source_file']) -%}
        {%- endfor -%}
    {%- elif is_full_refresh_reload() -%}
        {%- for batch in loaded_batches() if batch['source_file'] not in reload_files -%}
            {%- do reload_files.append(batch['source_file']) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({
        'transactions_path': var('transactions_path'),
        'transactions_format': var('transactions_format', '') or '',
        'column_map': var('column_map', {}) or {},
        'date_format': var('date_format', '') or '',
        'transactions_sheet': var('transactions_sheet', '') or '',
        'transactions_encoding': var('transactions_encoding', '') or '',
        'reload_files': reload_files,
        'date_range': var('clv_calibration_end', none) not in [none, ''],
        'transactions_table': table,
        'transactions_key_columns': var('transactions_key_columns', []) or [],
        'transactions_updated_at_column': var('transactions_updated_at_column', '') or '',
        'pull_dir': pull_dir() if table else '',
        'loaded_pulls': loaded_pulls,
        'full_refresh': flags.FULL_REFRESH and table != '' and line_store_relation() is not none,
        'pull_now': flags.WHICH in ['build', 'run', 'retry'],
    }) }}
{%- endmacro %}


{#
    pull_dir(): the folder of a database source's pull files, beside the working warehouse
    (<warehouse file>.pulls): kept with the warehouse it fed, never in target/.
#}
{% macro pull_dir() -%}
    {{ return(adapter.dispatch('pull_dir', 'custseg')()) }}
{%- endmacro %}

{% macro default__pull_dir() -%}
    {{ exceptions.raise_compiler_error(
        "Transactions input problem: a database source (transactions_table) is read on DuckDB only. On "
        ~ adapter.type() ~ ", read the table with the engine's own reader (Spark: spark.read.jdbc) into "
        ~ "Parquet and set transactions_path to it (docs/database.md)."
    ) }}
{%- endmacro %}

{% macro duckdb__pull_dir() -%}
    {%- set working = run_query("select path from duckdb_databases() where database_name = "
                                ~ sql_string(target.database)).columns[0].values()[0] -%}
    {{ return(working ~ ".pulls") }}
{%- endmacro %}


{# custseg_column_kinds(src): "numeric: a, b; categorical: c" for the log. #}
{% macro custseg_column_kinds(src) -%}
    {%- set parts = [] -%}
    {%- for kind in ['numeric', 'boolean', 'date', 'categorical', 'empty', 'ignore'] -%}
        {%- set names = src['columns'] | selectattr('kind', 'equalto', kind) | map(attribute='name') | list -%}
        {%- if names -%}
            {%- do parts.append(kind ~ ": " ~ names | join(', ')) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(parts | join('; ')) }}
{%- endmacro %}


{# var_values(names): {name: var(name) or none} for the given var names. #}
{% macro var_values(names) -%}
    {%- set values = {} -%}
    {%- for name in names -%}
        {%- do values.update({name: var(name, none)}) -%}
    {%- endfor -%}
    {{ return(values) }}
{%- endmacro %}


{# settings_options(): every other var that a model reads, for custseg_check_settings. #}
{% macro settings_options() -%}
    {%- set names = [
        'publish', 'customers_path', 'as_of_date', 'min_valid_date', 'max_valid_date',
        'segmentation_features', 'segmentation_log_features', 'segmentation_clip_quantiles',
        'segmentation_pca_components', 'segmentation_algorithm', 'min_cluster_size', 'k_min', 'k_max', 'n_clusters',
        'random_state', 'n_init', 'sweep_n_init', 'silhouette_exact_max', 'silhouette_sample_size',
        'sweep_sample_size', 'minibatch_threshold', 'fit_sample_size', 'classifier',
        'classifier_test_size', 'classifier_tree_max_depth', 'classifier_n_estimators',
        'classifier_top_countries', 'classifier_max_rows', 'training_cutoff_date', 'ml_threads',
        'segmentation_mode', 'refit_policy', 'segmentation_model_version', 'drift_thresholds',
        'segment_value_feature', 'column_labels', 'clv_time_unit', 'clv_calibration_end',
        'clv_returns', 'clv_model', 'clv_horizons_days', 'clv_horizon_days', 'clv_churn_horizon_days', 'clv_discount_rate',
        'clv_penalizer', 'clv_min_history_days'
    ] -%}
    {{ return(var_values(names)) }}
{%- endmacro %}


{#
    date_var(name): a validated YYYY-MM-DD var as a SQL date literal, or none when unset. The
    pre-flight check already refused a bad value; this re-checks, so no macro ever pastes an
    unchecked var into SQL even when the hook is skipped.
#}
{% macro date_var(name) -%}
    {%- set value = var(name, '') -%}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not execute -%}
        {#- parsing: let the pre-flight hook report every bad var together -#}
        {{ return("cast(null as date)") }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value | string) -%}
        {{ exceptions.raise_compiler_error(
            "Setting problem: " ~ name ~ " must be a date written YYYY-MM-DD, got " ~ (value | string)[:80]
        ) }}
    {%- endif -%}
    {{ return("cast(" ~ sql_string(value) ~ " as date)") }}
{%- endmacro %}
