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
{%- set listed = measured + others %}

{#-
    Every column's values stacked into one (column_order, value) list by one scan of the rows (a
    lateral VALUES list), then aggregated by column: one query whatever the width, where a
    union of one select per column took minutes to plan at 1,000 columns.
#}
{%- if listed %}
columns as (

    select * from (
        values
        {%- for column in listed %}
        ({{ sql_string(column['name']) }}, {{ sql_string(column['kind']) }}, {{ loop.index }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) as columns (column_name, column_kind, column_order)

),

stacked as (

    select
        stacked.column_order,
        stacked.number_value,
        stacked.text_value,
        stacked.unreadable_flag
    from kept
    cross join lateral (
        values
        {%- for column in listed %}
        {%- set col = 'kept.' ~ sql_identifier(column['name']) %}
        {%- set unreadable = 'kept.' ~ sql_identifier('unreadable__' ~ column['name']) %}
        {%- if column in measured %}
        ({{ loop.index }}, cast({{ col }} as {{ type_double() }}), cast(null as {{ dbt.type_string() }}),
            cast({{ unreadable }} as integer))
        {%- else %}
        ({{ loop.index }}, cast(null as {{ type_double() }}), cast({{ col }} as {{ dbt.type_string() }}),
            cast({{ unreadable if column['kind'] == 'date' else 0 }} as integer))
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as stacked (column_order, number_value, text_value, unreadable_flag)

),

measured as (

    select
        column_order,
        count(*) as row_count,
        count(number_value) + count(text_value) as present_count,
        sum(unreadable_flag) as unreadable_count,
        count(distinct number_value) + count(distinct text_value) as distinct_count,
        avg(number_value) as mean_value,
        {{ median('number_value') }} as median_value,
        percentile_cont(0.25) within group (order by number_value) as q1_value,
        percentile_cont(0.75) within group (order by number_value) as q3_value
    from stacked
    group by column_order

),

per_column as (

    select
        columns.column_name,
        columns.column_kind,
        columns.column_order,
        coalesce(measured.row_count, 0) as row_count,
        coalesce(measured.row_count, 0) - coalesce(measured.present_count, 0) as missing_count,
        measured.unreadable_count,
        coalesce(measured.distinct_count, 0) as distinct_count,
        cast(measured.mean_value as {{ type_double() }}) as mean_value,
        cast(measured.median_value as {{ type_double() }}) as median_value,
        cast(measured.q1_value as {{ type_double() }}) as q1_value,
        cast(measured.q3_value as {{ type_double() }}) as q3_value
    from columns
    left join measured
        on columns.column_order = measured.column_order

),
{%- else %}
per_column as (

    select
        cast(null as {{ dbt.type_string() }}) as column_name, cast(null as {{ dbt.type_string() }}) as column_kind,
        0 as column_order, 0 as row_count, 0 as missing_count, 0 as unreadable_count, 0 as distinct_count,
        cast(null as {{ type_double() }}) as mean_value, cast(null as {{ type_double() }}) as median_value,
        cast(null as {{ type_double() }}) as q1_value, cast(null as {{ type_double() }}) as q3_value
    where 1 = 0

),
{%- endif %}

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
