{#
    One row per customer and purchase day before the snapshot: the value models' purchases. A
    purchase day is a day with a clean line (returns and quarantined lines are left out, as for
    RFM's purchases), valued at the sum of that day's lines. Snapshot: the customer features'
    (int_customers__features.as_of_date). Read by int_customers__repeat_purchases, the calibration
    summary and the holdout tracking mart.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

classified as (

    select * from {{ ref('int_transactions__classified') }}

),

snapshot as (

    -- the customer features' snapshot, as they computed it (one value for every customer)
    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

clean as (

    select
        customer_id,
        cast(invoiced_at as date) as purchase_date,
        line_amount
    from classified
    where quarantine_reason is null

),

final as (

    select
        clean.customer_id,
        clean.purchase_date,
        cast({{ sum_money('clean.line_amount') }} as {{ type_double() }}) as day_value
    from clean
    cross join snapshot
    where clean.purchase_date < snapshot.as_of_date
    group by clean.customer_id, clean.purchase_date

)

select * from final
