{#
    Reconciliation of the load: raw lines in, clean lines out, and quarantined lines by reason.
    One row per outcome ('clean' or a quarantine reason), including reasons with zero rows.
    Summed from the per-batch counts (int_transactions__outcome_counts), not the line store: a
    weekly build reads its batch's lines once, there.
#}
{{ config(enabled=input_kind() == 'transactions') }}


with

outcome_counts as (

    select * from {{ ref('int_transactions__outcome_counts') }}

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

    -- a customer counted once per outcome, whatever the batches they came in
    select
        outcome,
        customer_id,
        sum(row_count) as row_count
    from outcome_counts
    group by outcome, customer_id

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
