{#
    With clv_calibration_end set: one row per customer with a purchase day on or before it, the
    value models' summary at the end of the calibration period (macro btyd_summary) and what the
    customer did after it, to the snapshot (the holdout): repeat purchase periods and their value.
    The value models are fitted on these rows, and the holdout marts compare their predictions
    with the holdout. bought_in_churn_horizon: a purchase in the clv_churn_horizon_days after the
    calibration end (what the churn risk at the calibration end predicts; fct_clv_backtest).

    The calibration end is the last day of the calibration period, included in full (as
    lifetimes' calibration_period_end and the BG/NBD paper read it): the summary is taken as of
    the next day, when the holdout starts. Purchase days are valued net of refunds
    (int_customers__net_purchase_days): in the calibration, of the refunds dated on or before the
    calibration end only (a backtest knows nothing later); in the holdout, of every refund before
    the snapshot. Without clv_calibration_end: no rows.
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set calibration_end = date_var('clv_calibration_end') or 'cast(null as date)' %}
{#- the first day of the holdout: the summary's snapshot -#}
{%- set holdout_start = dbt.dateadd('day', 1, calibration_end) %}
{#- the last day of the churn horizon after the calibration end -#}
{%- set churn_horizon_end = dbt.dateadd('day', var('clv_churn_horizon_days') | int, calibration_end) %}

with

purchase_days as (

    select * from {{ ref('int_customers__net_purchase_days') }}

),

snapshot as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

span as (

    select
        as_of_date,
        {{ dbt.datediff(holdout_start, 'as_of_date', 'day') }}
            as holdout_days
    from snapshot

),

dated as (

    select
        customer_id,
        purchase_date,
        net_value_at_calibration_end as day_value,
        cast({{ holdout_start }} as date) as as_of_date
    from purchase_days
    where net_value_at_calibration_end > 0

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
        cast({{ sum_money('purchase_days.net_value') }} as {{ type_double() }}) as holdout_value,
        max(
            case when purchase_days.purchase_date <= {{ churn_horizon_end }} then 1 else 0 end
        ) as bought_in_churn_horizon
    from purchase_days
    inner join calibration
        on purchase_days.customer_id = calibration.customer_id
    cross join span
    where
        purchase_days.purchase_date > {{ calibration_end }}
        and purchase_days.purchase_date < span.as_of_date
        and purchase_days.net_value > 0
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
        cast({{ calibration_end }} as date) as calibration_end,
        span.as_of_date,
        cast(span.holdout_days as integer) as holdout_days,
        cast(coalesce(holdout.holdout_purchases, 0) as integer) as holdout_purchases,
        coalesce(holdout.bought_in_churn_horizon, 0) = 1 as bought_in_churn_horizon,
        coalesce(holdout.holdout_value, 0) as holdout_value
    from calibration
    cross join span
    left join holdout
        on calibration.customer_id = holdout.customer_id
    where calibration.as_of_date < span.as_of_date

)

select * from final
