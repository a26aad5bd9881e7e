{#
    custseg_check(kind, options): the answer (a dict) of one of the project's Python checks,
    custseg.dbt_plugin.Checks: probe_source, probe_customers or check_settings. The options
    travel as one JSON value, never pasted into SQL unescaped. Dispatched: DuckDB asks the
    custseg plugin's UDFs; Spark (profile type custseg_spark, custseg.spark) asks the adapter,
    which runs the same Python on the driver.
#}
{% macro custseg_check(kind, options) -%}
    {{ return(adapter.dispatch('custseg_check', 'custseg')(kind, options)) }}
{%- endmacro %}

{% macro default__custseg_check(kind, options) -%}
    {{ exceptions.raise_compiler_error(
        "This project's input checks run on DuckDB (type: duckdb) and on Spark through the "
        ~ "custseg_spark adapter (type: custseg_spark, see docs/spark.md); adapter "
        ~ adapter.type() ~ " has neither."
    ) }}
{%- endmacro %}

{% macro duckdb__custseg_check(kind, options) -%}
    {%- set answer = run_query("select custseg_" ~ kind ~ "(" ~ sql_string(tojson(options)) ~ ")") -%}
    {{ return(fromjson(answer.columns[0].values()[0])) }}
{%- endmacro %}

{% macro custseg_spark__custseg_check(kind, options) -%}
    {{ return(fromjson(adapter.custseg_check(kind, tojson(options)))) }}
{%- endmacro %}


{#
    check_segmentation_input(): the post-hook of int_customers__segmentation_input. Counts the
    customers the ML layer would learn from (those first seen before training_cutoff_date when
    it is set) and asks custseg.segmentation.readiness whether they can be segmented with these
    settings, when the ML layer (ml_model_registry) is part of the invocation. No customer, or too few for k, stops the build here with the project's message
    (why, from the raw lines by outcome, and which var or input fixes it), before any Python
    model runs.
#}
{% macro check_segmentation_input() -%}
    {#- only when the ML layer runs in this invocation (a SQL-only build may hold few customers) -#}
    {%- if not execute or 'model.custseg.ml_model_registry' not in selected_resources -%}
        {{ return('') }}
    {%- endif -%}
    {%- set cutoff = date_var('training_cutoff_date') if input_kind() == 'transactions' else none -%}
    {%- set counts = run_query(
        "select count(*), sum(case when " ~ ("first_purchase_at < " ~ cutoff if cutoff else "1 = 1")
        ~ " then 1 else 0 end) from " ~ this
    ) -%}
    {%- set customers = counts.columns[0].values()[0] | int -%}
    {%- set outcomes = {} -%}
    {%- if customers == 0 -%}
        {%- for row in run_query("select outcome, line_count from " ~ ref('int_input__outcomes')).rows -%}
            {%- do outcomes.update({row[0]: row[1] | int}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set result = custseg_check('check_segmentation_input', {
        'customers': customers, 'training_customers': (counts.columns[1].values()[0] or 0) | int,
        'outcomes': outcomes, 'settings': settings_options()}) -%}
    {%- if not result['ok'] -%}
        {{ exceptions.raise_compiler_error("Segmentation input problem: " ~ result['error']) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
