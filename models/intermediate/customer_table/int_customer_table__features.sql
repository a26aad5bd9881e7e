{#
    The customer table's feature table, one row per kept customer (the ML layer reads it through
    int_customers__segmentation_input):

    1. numeric columns: missing and unreadable values imputed (column_stats.impute_value), then
       clipped to the outlier bounds (var outlier_rule: clip); with outlier_rule: quarantine the
       rows with an outlier are left out (they are in marts.fct_customer_table_quarantine);
    2. booleans as 0/1 (missing: the majority), dates as dates, categorical nulls as the level
       '(missing)';
    3. engineered features (var engineered_features), each over the columns above and the
       earlier ones; a null result (e.g. a division by zero) takes the feature's median;
    4. one-hot columns "<column>=<level>" for each categorical's top onehot_top_n levels and
       "<column>=(other)" for the rest.
#}
{{ config(enabled=input_kind() == 'customers') }}
-- depends_on: {{ ref('int_customer_table__classified') }}
-- depends_on: {{ ref('int_customer_table__column_stats') }}
-- depends_on: {{ ref('int_customer_table__outliers') }}

{%- set src = customer_table_source() %}

{%- if src is none %}
select cast(null as {{ dbt.type_string() }}) as customer_id
{%- else %}
{%- set numeric = customer_columns(src, ['numeric']) %}
{%- set booleans = customer_columns(src, ['boolean']) %}
{%- set dates = customer_columns(src, ['date']) %}
{%- set categoricals = customer_columns(src, ['categorical']) %}

with

kept as (

    select * from {{ ref('int_customer_table__classified') }}
    where quarantine_reason is null

),

stats as (

    select * from {{ ref('int_customer_table__column_stats') }}

),

column_values as (

    select
        cast(1 as integer) as one
        {%- for column in numeric + booleans %},
        max(case when column_name = {{ sql_string(column['name']) }} then impute_value end) as impute_{{ loop.index }},
        max(case when column_name = {{ sql_string(column['name']) }} then lower_bound end) as lower_{{ loop.index }},
        max(case when column_name = {{ sql_string(column['name']) }} then upper_bound end) as upper_{{ loop.index }}
        {%- endfor %}
    from stats

),

{%- if var('outlier_rule') == 'quarantine' %}
quarantined as (

    select distinct source_row_number from {{ ref('int_customer_table__outliers') }}

),
{%- endif %}

base as (

    select
        kept.source_row_number,
        kept.customer_id,
        {{ customer_table_as_of_date() }} as as_of_date
        {%- for column in numeric + booleans %}
        {%- set value = "coalesce(kept." ~ sql_identifier(column['name']) ~ ", column_values.impute_" ~ loop.index ~ ")" %},
        {%- if column['kind'] == 'numeric' and var('outlier_rule') == 'clip' %}
        case
            when {{ value }} < column_values.lower_{{ loop.index }} then column_values.lower_{{ loop.index }}
            when {{ value }} > column_values.upper_{{ loop.index }} then column_values.upper_{{ loop.index }}
            else {{ value }}
        end as {{ sql_identifier(column['name']) }}
        {%- else %}
        cast({{ value }} as {{ type_double() }}) as {{ sql_identifier(column['name']) }}
        {%- endif %}
        {%- endfor %}
        {%- for column in dates %},
        kept.{{ sql_identifier(column['name']) }}
        {%- endfor %}
        {%- for column in categoricals %},
        coalesce(kept.{{ sql_identifier(column['name']) }}, '(missing)') as {{ sql_identifier(column['name']) }}
        {%- endfor %}
    from kept
    cross join column_values
    {%- if var('outlier_rule') == 'quarantine' %}
    where kept.source_row_number not in (select quarantined.source_row_number from quarantined)
    {%- endif %}

),

{%- set previous = {'name': 'base'} %}
{%- for feature in src['engineered'] %}
engineered_{{ loop.index }} as (

    {#- a finite number or null: x - x is 0 only for a finite x, not for the infinity or NaN a
        division by zero gives; a null takes the feature's median #}
    {%- set value = "cast((" ~ feature['sql'] ~ ") as " ~ type_double() ~ ")" %}
    {%- set finite = "case when " ~ value ~ " - " ~ value ~ " = 0 then " ~ value ~ " end" %}
    select
        *,
        coalesce({{ finite }}, median({{ finite }}) over ()) as {{ sql_identifier(feature['name']) }}
    from {{ previous['name'] }}

),
{%- do previous.update({'name': 'engineered_' ~ loop.index}) %}
{%- endfor %}

final as (

    select
        *
        {%- for column in categoricals %}
        {%- set levels = src['levels'][column['name']] %}
        {%- for level in levels %},
        cast(case when {{ sql_identifier(column['name']) }} = {{ sql_string(level) }} then 1 else 0 end as {{ type_double() }})
            as {{ sql_identifier(column['name'] ~ '=' ~ level) }}
        {%- endfor %}
        {%- if src['has_other'][column['name']] %},
        cast(case
            when {{ sql_identifier(column['name']) }} not in ({% for level in levels %}{{ sql_string(level) }}{{ ', ' if not loop.last }}{% endfor %})
                then 1
            else 0
        end as {{ type_double() }}) as {{ sql_identifier(column['name'] ~ '=(other)') }}
        {%- endif %}
        {%- endfor %}
    from {{ previous['name'] }}

)

select * from final
{%- endif %}
