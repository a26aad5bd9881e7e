{#
    With clv_calibration_end: the classic BTYD check. Customers grouped by their repeat purchase
    periods in the calibration period (0 to 6, and 7 or more): the mean repeat purchases the
    model fitted on the calibration period predicts for the holdout, beside the mean they made.
    No rows without a calibration end.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

calibration as (

    select * from {{ ref('int_customers__value_calibration') }}

),

scores as (

    select * from {{ ref('ml_customer_value_scores') }}

),

binned as (

    select
        least(calibration.frequency, 7) as frequency_bin,
        calibration.holdout_purchases,
        scores.expected_purchases
    from calibration
    inner join scores
        on calibration.customer_id = scores.customer_id
        and scores.basis = 'holdout'
        and scores.is_chosen
        and calibration.holdout_days = scores.horizon_days

),

final as (

    select
        cast(frequency_bin as integer) as calibration_frequency,
        case when frequency_bin = 7 then '7+' else cast(frequency_bin as {{ dbt.type_string() }}) end
            as calibration_frequency_label,
        cast(count(*) as bigint) as customers,
        cast({{ mean_exact('expected_purchases') }} as {{ type_double() }}) as predicted_mean_purchases,
        cast(avg(cast(holdout_purchases as {{ type_double() }})) as {{ type_double() }}) as actual_mean_purchases
    from binned
    group by frequency_bin

)

select * from final
