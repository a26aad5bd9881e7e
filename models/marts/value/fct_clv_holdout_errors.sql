{#
    With clv_calibration_end: one row of error figures for the holdout (no row without one):
    customers, total predicted and actual repeat purchases, their relative difference, and the
    per-customer mean absolute error and root mean squared error of the predicted purchases.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

calibration as (

    select * from {{ ref('int_customers__value_calibration') }}

),

scores as (

    select * from {{ ref('ml_customer_value_scores') }}

),

paired as (

    select
        calibration.calibration_end,
        calibration.as_of_date,
        calibration.holdout_days,
        cast(calibration.holdout_purchases as {{ type_double() }}) as actual,
        scores.expected_purchases as predicted
    from calibration
    inner join scores
        on calibration.customer_id = scores.customer_id
        and scores.basis = 'holdout'
        and scores.is_chosen
        and calibration.holdout_days = scores.horizon_days

),

final as (

    select
        max(calibration_end) as calibration_end,
        max(as_of_date) as holdout_end,
        cast(max(holdout_days) as integer) as holdout_days,
        cast(count(*) as bigint) as customers,
        {{ sum_exact('predicted') }} as predicted_purchases,
        cast(sum(actual) as {{ type_double() }}) as actual_purchases,
        cast(({{ sum_exact('predicted') }} - sum(actual)) / nullif(sum(actual), 0) as {{ type_double() }})
            as relative_error,
        cast({{ mean_exact('abs(predicted - actual)') }} as {{ type_double() }}) as mean_absolute_error,
        cast(sqrt({{ mean_exact('(predicted - actual) * (predicted - actual)') }}) as {{ type_double() }})
            as root_mean_squared_error
    from paired
    having count(*) > 0

)

select * from final
