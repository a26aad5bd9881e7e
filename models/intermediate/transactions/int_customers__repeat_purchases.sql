{#
    One row per customer with a purchase day before the snapshot: the summary the value models
    (BG/NBD, Gamma-Gamma; custseg.value.btyd) read, in periods of clv_time_unit (macro
    btyd_summary: frequency, recency, age, mean_repeat_value, total_value). Snapshot: the
    customer features' (int_customers__features.as_of_date). Rebuilt every build (the
    incremental form, like int_customers__purchase_stats, is left to do).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

snapshot as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

dated as (

    select
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.day_value,
        snapshot.as_of_date
    from purchase_days
    cross join snapshot

),

final as (

    {{ btyd_summary('dated') }}

)

select * from final
