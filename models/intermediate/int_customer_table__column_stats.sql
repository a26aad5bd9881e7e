{#
    One row per typed column of the customer table, over the rows kept by the id check: how many
    values are missing or unreadable, the value that replaces them (var impute_strategy: median,
    mean or zero; booleans always take their median, i.e. the majority), quartiles and the
    outlier bounds [q1 - f * iqr, q3 + f * iqr] (f = var outlier_iqr_factor; numeric columns
    only, none when the iqr is 0), and for categoricals the number of levels.
#}
{{ config(enabled=input_kind() == 'customers') }}
-- depends_on: {{ ref('int_customer_table__classified') }}

{%- set src = customer_table_source() %}
{%- set factor = var('outlier_iqr_factor') | float %}

{%- if src is none %}
select cast(null as {{ dbt.type_string() }}) as column_name
{%- else %}

with

kept as (

    select * from {{ ref('int_customer_table__classified') }}
    where quarantine_reason is null

),

{%- set measured = customer_columns(src, ['numeric', 'boolean']) %}
{%- set others = customer_columns(src, ['date', 'categorical']) %}

per_column as (

    {%- for column in measured %}
    {%- set col = sql_identifier(column['name']) %}
    select
        {{ sql_string(column['name']) }} as column_name,
        {{ sql_string(column['kind']) }} as column_kind,
        {{ loop.index }} as column_order,
        count(*) as row_count,
        count(*) - count({{ col }}) as missing_count,
        sum({{ sql_identifier('unreadable__' ~ column['name']) }}) as unreadable_count,
        count(distinct {{ col }}) as distinct_count,
        cast(avg({{ col }}) as {{ type_double() }}) as mean_value,
        cast({{ median(col) }} as {{ type_double() }}) as median_value,
        cast(percentile_cont(0.25) within group (order by {{ col }}) as {{ type_double() }}) as q1_value,
        cast(percentile_cont(0.75) within group (order by {{ col }}) as {{ type_double() }}) as q3_value
    from kept
    union all
    {%- endfor %}
    {%- for column in others %}
    {%- set col = sql_identifier(column['name']) %}
    select
        {{ sql_string(column['name']) }} as column_name,
        {{ sql_string(column['kind']) }} as column_kind,
        {{ measured | length + loop.index }} as column_order,
        count(*) as row_count,
        count(*) - count({{ col }}) as missing_count,
        {%- if column['kind'] == 'date' %}
        sum({{ sql_identifier('unreadable__' ~ column['name']) }}) as unreadable_count,
        {%- else %}
        0 as unreadable_count,
        {%- endif %}
        count(distinct {{ col }}) as distinct_count,
        cast(null as {{ type_double() }}) as mean_value,
        cast(null as {{ type_double() }}) as median_value,
        cast(null as {{ type_double() }}) as q1_value,
        cast(null as {{ type_double() }}) as q3_value
    from kept
    union all
    {%- endfor %}
    select
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), 0, 0, 0, 0, 0,
        cast(null as {{ type_double() }}), cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}), cast(null as {{ type_double() }})
    where 1 = 0

),

final as (

    select
        column_name,
        column_kind,
        cast(column_order as integer) as column_order,
        cast(row_count as bigint) as row_count,
        cast(missing_count as bigint) as missing_count,
        cast(coalesce(unreadable_count, 0) as bigint) as unreadable_count,
        cast(distinct_count as bigint) as distinct_count,
        mean_value,
        median_value,
        q1_value,
        q3_value,
        case
            when column_kind = 'boolean' then median_value
            {%- if var('impute_strategy') == 'mean' %}
            when column_kind = 'numeric' then mean_value
            {%- elif var('impute_strategy') == 'zero' %}
            when column_kind = 'numeric' then 0.0
            {%- else %}
            when column_kind = 'numeric' then median_value
            {%- endif %}
        end as impute_value,
        case
            when column_kind = 'numeric' and q3_value > q1_value
                then q1_value - {{ factor }} * (q3_value - q1_value)
        end as lower_bound,
        case
            when column_kind = 'numeric' and q3_value > q1_value
                then q3_value + {{ factor }} * (q3_value - q1_value)
        end as upper_bound
    from per_column

)

select * from final
{%- endif %}
