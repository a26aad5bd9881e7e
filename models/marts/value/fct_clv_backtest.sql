{#
    With clv_calibration_end: one row per purchase model (the chosen one and every candidate),
    how well its answers, fitted on the calibration period, ranked and sized what customers did
    next (fct_clv_backtest_customers).
    "Churned" = no purchase in the clv_churn_horizon_days after the calibration end. The area
    under the ROC curve (macro rank_auc: 0.5 = chance, 1 = perfect) of three rankings for it:
    the churn risk, low P(alive), and plain days since the last purchase (the baseline any
    ranking should beat). No row without a calibration end.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

customers as (

    select * from {{ ref('fct_clv_backtest_customers') }}

),

churn_auc as (

    {{ rank_auc('customers', 'churn_risk', 'not bought_in_churn_horizon', 'clv_model') }}

),

p_alive_auc as (

    {{ rank_auc('customers', '1 - p_alive', 'not bought_in_churn_horizon', 'clv_model') }}

),

recency_auc as (

    {{ rank_auc('customers', 'days_since_last_purchase', 'not bought_in_churn_horizon', 'clv_model') }}

),

totals as (

    select
        clv_model,
        max(case when is_chosen then 1 else 0 end) = 1 as is_chosen,
        max(value_model_version) as value_model_version,
        max(calibration_end) as calibration_end,
        max(holdout_days) as holdout_days,
        count(*) as customers,
        sum(case when bought_in_churn_horizon then 0 else 1 end) as churned_customers,
        {{ mean_exact('churn_risk') }} as predicted_churn_rate
    from customers
    group by clv_model

),

final as (

    select
        totals.clv_model,
        totals.is_chosen,
        cast(totals.value_model_version as integer) as value_model_version,
        totals.calibration_end,
        cast({{ var('clv_churn_horizon_days') | int }} as integer) as churn_horizon_days,
        cast(totals.holdout_days as integer) as holdout_days,
        totals.holdout_days >= {{ var('clv_churn_horizon_days') | int }} as churn_horizon_covered,
        cast(totals.customers as bigint) as customers,
        cast(totals.churned_customers as bigint) as churned_customers,
        cast(totals.predicted_churn_rate as {{ type_double() }}) as predicted_churn_rate,
        cast(totals.churned_customers as {{ type_double() }}) / totals.customers as actual_churn_rate,
        churn_auc.auc as churn_risk_auc,
        p_alive_auc.auc as p_alive_auc,
        recency_auc.auc as days_since_last_purchase_auc
    from totals
    inner join churn_auc
        on totals.clv_model = churn_auc.clv_model
    inner join p_alive_auc
        on totals.clv_model = p_alive_auc.clv_model
    inner join recency_auc
        on totals.clv_model = recency_auc.clv_model

)

select * from final
