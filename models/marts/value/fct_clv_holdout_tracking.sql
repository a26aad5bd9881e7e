{#
    With clv_calibration_end: the weekly cumulative repeat purchases of the calibration
    customers (first purchase on or before the calibration end), predicted by the model fitted on the
    calibration period (each customer's expected repeat purchases since the first purchase,
    ml_value_curve) beside the actual, week by week from the first purchase to the snapshot;
    in_holdout marks the weeks that end after the calibration end. Purchase days count as the
    value models see them: net of refunds (in the calibration period, of the refunds known at its
    end; int_customers__value_calibration). No rows without a calibration end.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

calibration as (

    select * from {{ ref('int_customers__value_calibration') }}

),

purchase_days as (

    select * from {{ ref('int_customers__net_purchase_days') }}

),

curve as (

    select * from {{ ref('ml_value_curve') }}

),

bounds as (

    select
        min(first_purchase_date) as start_date,
        max(calibration_end) as calibration_end,
        max(as_of_date) as as_of_date
    from calibration

),

span as (

    select
        bounds.start_date,
        bounds.calibration_end,
        {{ dbt.datediff('bounds.start_date', 'bounds.as_of_date', 'day') }}
            as span_days
    from bounds

),

week_ends as (

    -- every 7th day from the first purchase, and the last day before the snapshot
    select curve.days_since_first_purchase as day_offset
    from curve
    cross join span
    where
        curve.days_since_first_purchase < span.span_days
        and (
            mod(curve.days_since_first_purchase + 1, 7) = 0
            or curve.days_since_first_purchase = span.span_days - 1
        )

),

customer_starts as (

    select
        calibration.customer_id,
        calibration.first_purchase_date,
        {{ dbt.datediff('span.start_date', 'calibration.first_purchase_date', 'day') }}
            as cohort_offset
    from calibration
    cross join span

),

cohorts as (

    -- calibration customers by the day of their first purchase
    select
        cohort_offset,
        count(*) as customers
    from customer_starts
    group by cohort_offset

),

predicted as (

    select
        week_ends.day_offset,
        {{ sum_exact('cohorts.customers * curve.expected_repeat_purchases') }} as predicted_repeat_purchases
    from week_ends
    inner join cohorts
        on week_ends.day_offset >= cohorts.cohort_offset
    inner join curve
        on week_ends.day_offset - cohorts.cohort_offset = curve.days_since_first_purchase
    group by week_ends.day_offset

),

customer_days as (

    -- each purchase day of a calibration customer: its period and its day since the start
    select
        purchase_days.customer_id,
        {{ clv_period_number('customer_starts.first_purchase_date', 'purchase_days.purchase_date') }}
            as period_number,
        customer_starts.cohort_offset
        + {{ dbt.datediff('customer_starts.first_purchase_date', 'purchase_days.purchase_date', 'day') }}
            as day_offset
    from purchase_days
    inner join customer_starts
        on purchase_days.customer_id = customer_starts.customer_id
    cross join span
    where
        (purchase_days.purchase_date <= span.calibration_end and purchase_days.net_value_at_calibration_end > 0)
        or (purchase_days.purchase_date > span.calibration_end and purchase_days.net_value > 0)

),

repeat_periods as (

    -- each repeat purchase period, on the day it began
    select min(day_offset) as day_offset
    from customer_days
    where period_number > 0
    group by customer_id, period_number

),

repeat_days as (

    select
        day_offset,
        count(*) as repeat_purchases
    from repeat_periods
    group by day_offset

),

actual as (

    select
        week_ends.day_offset,
        coalesce(sum(repeat_days.repeat_purchases), 0) as actual_repeat_purchases
    from week_ends
    left join repeat_days
        on week_ends.day_offset >= repeat_days.day_offset
    group by week_ends.day_offset

),

dated_weeks as (

    select
        week_ends.day_offset,
        span.calibration_end,
        cast({{ dbt.dateadd('day', 'week_ends.day_offset', 'span.start_date') }} as date) as week_end_date
    from week_ends
    cross join span

),

final as (

    select
        dated_weeks.week_end_date,
        cast(dated_weeks.day_offset as integer) as days_since_start,
        dated_weeks.week_end_date > dated_weeks.calibration_end as in_holdout,
        cast(predicted.predicted_repeat_purchases as {{ type_double() }}) as predicted_cumulative_repeat_purchases,
        cast(actual.actual_repeat_purchases as bigint) as actual_cumulative_repeat_purchases
    from dated_weeks
    inner join predicted
        on dated_weeks.day_offset = predicted.day_offset
    inner join actual
        on dated_weeks.day_offset = actual.day_offset

)

select * from final
