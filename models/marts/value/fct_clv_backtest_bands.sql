{#
    With clv_calibration_end: per purchase model and churn-risk band at the calibration end
    (low, medium, high), the customers, the churn rate the model predicted (mean churn risk) and the one that came
    (share without a purchase in the clv_churn_horizon_days after the end): calibrated bands
    have the two close. No rows without a calibration end or a usable model.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

customers as (

    select * from {{ ref('fct_clv_backtest_customers') }}

),

final as (

    select
        clv_model,
        max(case when is_chosen then 1 else 0 end) = 1 as is_chosen,
        churn_risk_band,
        cast(count(*) as bigint) as customers,
        cast({{ mean_exact('churn_risk') }} as {{ type_double() }}) as predicted_churn_rate,
        cast(sum(case when bought_in_churn_horizon then 0 else 1 end) as {{ type_double() }}) / count(*)
            as actual_churn_rate
    from customers
    where churn_risk_band is not null
    group by clv_model, churn_risk_band

)

select * from final
