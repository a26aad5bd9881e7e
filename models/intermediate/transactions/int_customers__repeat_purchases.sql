{#
    One row per customer with a purchase day before the snapshot: the summary the value models
    (BG/NBD, Gamma-Gamma; custseg.value.btyd) read, in periods of clv_time_unit (macro
    btyd_summary: frequency, recency, age, mean_repeat_value, total_value). A purchase day is
    valued net of the refunds that cancel it (int_customers__net_purchase_days); a day cancelled
    in full is not a purchase, and a customer whose every purchase was refunded has no row.
    gross_value: his clean purchases before any refund. Snapshot: the customer features'
    (int_customers__features.as_of_date). Rebuilt every build (the incremental form, like
    int_customers__purchase_stats, is left to do).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

purchase_days as (

    select * from {{ ref('int_customers__net_purchase_days') }}

),

snapshot as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

dated as (

    select
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.net_value as day_value,
        snapshot.as_of_date
    from purchase_days
    cross join snapshot
    where purchase_days.net_value > 0

),

gross as (

    select
        purchase_days.customer_id,
        cast({{ sum_money('purchase_days.gross_value') }} as {{ type_double() }}) as gross_value
    from purchase_days
    cross join snapshot
    where purchase_days.purchase_date < snapshot.as_of_date
    group by purchase_days.customer_id

),

summary as (

    {{ btyd_summary('dated') }}

),

final as (

    select
        summary.*,
        gross.gross_value
    from summary
    inner join gross
        on summary.customer_id = gross.customer_id

)

select * from final
