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

crossings as (

    {%- for column in numeric if rule != 'none' %}
    select
        kept.source_row_number,
        kept.customer_id,
        stats.column_name,
        cast(kept.{{ sql_identifier(column['name']) }} as {{ type_double() }}) as original_value,
        stats.lower_bound,
        stats.upper_bound
    from kept
    inner join stats
        on stats.column_name = {{ sql_string(column['name']) }}
    where
        kept.{{ sql_identifier(column['name']) }} < stats.lower_bound
        or kept.{{ sql_identifier(column['name']) }} > stats.upper_bound
    union all
    {%- endfor %}
    select
        cast(null as bigint), cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ type_double() }}), cast(null as {{ type_double() }}), cast(null as {{ type_double() }})
    where 1 = 0

),

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
