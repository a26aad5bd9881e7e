{#
    With clv_calibration_end: one row per calibration customer (a purchase on or before the
    calibration end) and purchase model (every candidate fitted: BG/NBD, MBG/NBD, Pareto/NBD;
    is_chosen marks the one the value marts use), what the model fitted on the calibration period
    predicted at its end beside what the customer did after it (the holdout, to the snapshot):
      churn_risk (P(no purchase in the clv_churn_horizon_days after the end)), its band and
      whether he bought in that horizon; P(alive); the probability of a purchase in the whole
      holdout and whether he bought; the predicted and actual holdout purchases and revenue
      (net of refunds; predicted = expected purchases x Gamma-Gamma's expected order value).
    The segment is the customer's at the snapshot. No rows without a calibration end or a
    usable model. fct_clv_backtest, _bands and _segments summarise it.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

calibration as (

    select * from {{ ref('int_customers__value_calibration') }}

),

active_model as (

    select * from {{ ref('ml_active_value_model') }}

),

scores as (

    select * from {{ ref('ml_customer_value_scores') }}

),

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

model as (

    {{ usable_value_parameters('active_model') }}

),

holdout_scores as (

    select * from scores
    where basis = 'holdout'

),

predicted as (

    select
        calibration.*,
        model.value_model_version,
        holdout_scores.clv_model,
        holdout_scores.clv_model = model.clv_model as is_chosen,
        holdout_scores.p_alive,
        holdout_scores.p_no_purchase as p_no_holdout_purchase,
        holdout_scores.expected_purchases as predicted_holdout_purchases,
        {{ gamma_gamma_expected_value('calibration.frequency', 'calibration.mean_repeat_value',
                                      'model.gg_p', 'model.gg_q', 'model.gg_v') }} as expected_average_order_value
    from calibration
    cross join model
    inner join holdout_scores
        on calibration.customer_id = holdout_scores.customer_id
        and calibration.holdout_days = holdout_scores.horizon_days

),

churn as (

    select
        customer_id,
        clv_model,
        p_no_purchase as churn_risk
    from holdout_scores
    where horizon_days = {{ var('clv_churn_horizon_days') | int }}

),

final as (

    select
        predicted.customer_id,
        predicted.clv_model,
        predicted.is_chosen,
        cast(segments.cluster_id as integer) as cluster_id,
        segments.segment_name,
        cast(predicted.value_model_version as integer) as value_model_version,
        predicted.calibration_end,
        predicted.holdout_days,
        predicted.frequency as calibration_repeat_purchases,
        -- the summary is taken the day after the calibration end: its age counts that day too
        cast(predicted.age_days - predicted.recency_span_days - 1 as integer) as days_since_last_purchase,
        cast(predicted.p_alive as {{ type_double() }}) as p_alive,
        cast(churn.churn_risk as {{ type_double() }}) as churn_risk,
        {{ churn_risk_band('churn.churn_risk') }} as churn_risk_band,
        predicted.bought_in_churn_horizon,
        cast(1 - predicted.p_no_holdout_purchase as {{ type_double() }}) as p_holdout_purchase,
        predicted.holdout_purchases > 0 as bought_in_holdout,
        cast(predicted.predicted_holdout_purchases as {{ type_double() }}) as predicted_holdout_purchases,
        predicted.holdout_purchases as actual_holdout_purchases,
        cast(
            predicted.predicted_holdout_purchases * predicted.expected_average_order_value as {{ type_double() }}
        ) as predicted_holdout_revenue,
        predicted.holdout_value as actual_holdout_revenue
    from predicted
    inner join churn
        on predicted.customer_id = churn.customer_id and predicted.clv_model = churn.clv_model
    left join segments
        on predicted.customer_id = segments.customer_id

)

select * from final
