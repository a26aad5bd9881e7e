{#
    Reconciliation of the load: raw lines in, clean lines out, and quarantined lines by reason.
    One row per outcome ('clean' or a quarantine reason), including reasons with zero rows.
#}
{{ config(enabled=input_kind() == 'transactions') }}


with

classified as (

    select * from {{ ref('int_transactions__classified') }}

),

reasons as (

    select * from {{ ref('quarantine_reasons') }}

),

outcomes as (

    select
        'clean' as outcome,
        0 as priority,
        'Kept in fct_transactions' as description
    union all
    select
        reason_code,
        priority,
        description
    from reasons

),

per_customer as (

    -- two plain aggregates instead of count(distinct): this one spreads over all cores
    select
        coalesce(quarantine_reason, 'clean') as outcome,
        customer_id,
        count(*) as row_count
    from classified
    group by coalesce(quarantine_reason, 'clean'), customer_id

),

counted as (

    select
        outcome,
        sum(row_count) as row_count,
        count(customer_id) as customer_count
    from per_customer
    group by outcome

),

final as (

    select
        outcomes.outcome,
        outcomes.priority,
        outcomes.description,
        cast(coalesce(counted.row_count, 0) as bigint) as row_count,
        cast(coalesce(counted.customer_count, 0) as bigint) as customer_count,
        cast(coalesce(counted.row_count, 0) as {{ type_double() }})
        / sum(coalesce(counted.row_count, 0)) over () as row_share
    from outcomes
    left join counted
        on outcomes.outcome = counted.outcome

)

select * from final
