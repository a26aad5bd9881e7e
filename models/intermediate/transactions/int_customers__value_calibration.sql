{#
    With clv_calibration_end set: one row per customer with a purchase day before it, the value
    models' summary as of the calibration end (macro btyd_summary) and what the customer did from
    it to the snapshot (the holdout): repeat purchase periods and their value. The value models
    are fitted on these rows, and the holdout marts compare their predictions with the holdout.
    Without clv_calibration_end: no rows.
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set calibration_end = date_var('clv_calibration_end') or 'cast(null as date)' %}

with

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

snapshot as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

span as (

    select
        as_of_date,
        {{ dbt.datediff(calibration_end, 'as_of_date', 'day') }}
            as holdout_days
    from snapshot

),

dated as (

    select
        customer_id,
        purchase_date,
        day_value,
        {{ calibration_end }} as as_of_date
    from purchase_days

),

calibration as (

    {{ btyd_summary('dated') }}

),

holdout as (

    -- the periods (counted on from each customer's first purchase) with a purchase in the holdout
    select
        purchase_days.customer_id,
        count(distinct {{ clv_period_number('calibration.first_purchase_date', 'purchase_days.purchase_date') }})
            as holdout_purchases,
        cast({{ sum_money('purchase_days.day_value') }} as {{ type_double() }}) as holdout_value
    from purchase_days
    inner join calibration
        on purchase_days.customer_id = calibration.customer_id
    cross join span
    where purchase_days.purchase_date >= {{ calibration_end }} and purchase_days.purchase_date < span.as_of_date
    group by purchase_days.customer_id

),

final as (

    select
        calibration.customer_id,
        calibration.frequency,
        calibration.recency,
        calibration.age,
        calibration.recency_span_days,
        calibration.age_days,
        calibration.mean_repeat_value,
        calibration.total_value,
        calibration.first_purchase_date,
        calibration.last_purchase_date,
        calibration.as_of_date as calibration_end,
        span.as_of_date,
        cast(span.holdout_days as integer) as holdout_days,
        cast(coalesce(holdout.holdout_purchases, 0) as integer) as holdout_purchases,
        coalesce(holdout.holdout_value, 0) as holdout_value
    from calibration
    cross join span
    left join holdout
        on calibration.customer_id = holdout.customer_id
    where calibration.as_of_date < span.as_of_date

)

select * from final
