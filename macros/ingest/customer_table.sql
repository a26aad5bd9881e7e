{#
    The second input kind: a customer table (var customers_path; docs/customer-tables.md).

    input_kind(): 'customers' when customers_path is set, else 'transactions'. Models of one kind
    are disabled in a build of the other (config enabled=...), so the graph holds one input path
    and both feed the same ML layer through int_customers__segmentation_input.
#}
{% macro input_kind() -%}
    {{ return('customers' if var('customers_path', '') else 'transactions') }}
{%- endmacro %}


{# customer_table_options(): the vars the customer-table probe reads, as one dict. #}
{% macro customer_table_options() -%}
    {%- set names = [
        'customers_path', 'customers_format', 'customer_id_column', 'customer_column_types',
        'customer_date_format', 'engineered_features', 'onehot_top_n', 'impute_strategy',
        'outlier_rule', 'outlier_iqr_factor', 'as_of_date', 'segmentation_features',
        'segmentation_log_features', 'k_min', 'segment_value_feature', 'customer_table_max_columns',
        'customers_encoding'
    ] -%}
    {{ return(var_values(names)) }}
{%- endmacro %}


{#
    customer_table_source(): checks the customer table and returns how to build it (columns and
    their kinds, typing SQL, one-hot levels, engineered features, model features), or stops the
    build with the probe's message (custseg.inputs.customer_probe, through custseg_check()).
    Customer tables are built on DuckDB: the probe's typing SQL is DuckDB's (try_cast,
    strptime), so another engine stops here with a message (customer_table_engine_check).
#}
{% macro customer_table_source() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do customer_table_engine_check() -%}
    {%- set result = custseg_check('probe_customers', customer_table_options()) -%}
    {%- if not result['ok'] -%}
        {{ exceptions.raise_compiler_error("Customer table problem: " ~ result['error']) }}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}

{% macro customer_table_engine_check() -%}
    {{ return(adapter.dispatch('customer_table_engine_check', 'custseg')()) }}
{%- endmacro %}

{% macro default__customer_table_engine_check() -%}
    {{ exceptions.raise_compiler_error(
        "Customer table problem: customer tables (customers_path) are built on DuckDB only (this "
        ~ "target's adapter is " ~ adapter.type() ~ "). Build them with the default target, or "
        ~ "give Spark transactions (transactions_path)."
    ) }}
{%- endmacro %}

{% macro duckdb__customer_table_engine_check() -%}
{%- endmacro %}


{# customer_columns(src, kinds): the probe's columns of the given kinds, in file order. #}
{% macro customer_columns(src, kinds) -%}
    {{ return(src['columns'] | selectattr('kind', 'in', kinds) | list) }}
{%- endmacro %}


{# customer_table_as_of_date(): the customer table's snapshot date as SQL (probe: var as_of_date,
   else the day after its latest date), or a null date. #}
{% macro customer_table_as_of_date() -%}
    {%- set src = customer_table_source() -%}
    {%- if src is none or not src['as_of_date'] -%}
        {{ return("cast(null as date)") }}
    {%- endif -%}
    {{ return("cast(" ~ sql_string(src['as_of_date']) ~ " as date)") }}
{%- endmacro %}
