{#
    One row per kept customer-table row and numeric column whose value lies outside the column's
    outlier bounds (int_customer_table__column_stats): the value, the bound it crossed and what
    var outlier_rule does with it (clip: the value is set to the bound; quarantine: the whole
    row is quarantined as outlier; none: nothing is recorded).
#}
{{ config(enabled=input_kind() == 'customers') }}

{%- set src = customer_table_source() %}
{%- set numeric = customer_columns(src, ['numeric']) if src is not none else [] %}
{%- set rule = var('outlier_rule') %}

with

kept as (

    select * from {{ ref('int_customer_table__classified') }}
    where quarantine_reason is null

),

stats as (

    select * from {{ ref('int_customer_table__column_stats') }}

),

{#- each numeric value stacked with its column name by one scan (a lateral VALUES list), then
    compared with its column's bounds: one query whatever the width (a union of one select per
    column took half a minute to plan at 1,000 columns) #}
{%- if numeric and rule != 'none' %}
stacked as (

    select
        kept.source_row_number,
        kept.customer_id,
        stacked.column_name,
        stacked.original_value
    from kept
    cross join lateral (
        values
        {%- for column in numeric %}
        ({{ sql_string(column['name']) }}, cast(kept.{{ sql_identifier(column['name']) }} as {{ type_double() }}))
        {{- ',' if not loop.last }}
        {%- endfor %}
    ) as stacked (column_name, original_value)

),

crossings as (

    select
        stacked.source_row_number,
        stacked.customer_id,
        stacked.column_name,
        stacked.original_value,
        stats.lower_bound,
        stats.upper_bound
    from stacked
    inner join stats
        on stacked.column_name = stats.column_name
    where
        stacked.original_value < stats.lower_bound
        or stacked.original_value > stats.upper_bound

),
{%- else %}
crossings as (

    select
        cast(null as bigint) as source_row_number,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ type_double() }}) as original_value,
        cast(null as {{ type_double() }}) as lower_bound,
        cast(null as {{ type_double() }}) as upper_bound
    where 1 = 0

),
{%- endif %}

final as (

    select
        source_row_number,
        customer_id,
        column_name,
        original_value,
        lower_bound,
        upper_bound,
        case
            when original_value < lower_bound then lower_bound
            else upper_bound
        end as clipped_value,
        {{ sql_string('quarantined' if rule == 'quarantine' else 'clipped') }} as action
    from crossings

)

select * from final
