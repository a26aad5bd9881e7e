{#
    With clv_calibration_end: one row per calibration customer (a purchase on or before the
    calibration end), what the value model fitted on the calibration period predicted at its end
    beside what the customer did after it (the holdout, to the snapshot):
      churn_risk (P(no purchase in the clv_churn_horizon_days after the end)), its band and
      whether he bought in that horizon; P(alive); the probability of a purchase in the whole
      holdout and whether he bought; the predicted and actual holdout purchases and revenue
      (net of refunds; predicted = expected purchases x Gamma-Gamma's expected order value).
    The segment is the customer's at the snapshot. No rows without a calibration end; null
    predictions without a usable model. fct_clv_backtest, _bands and _segments summarise it.
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set unit = clv_unit_days() %}

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

predicted as (

    select
        calibration.*,
        model.value_model_version,
        model.bgnbd_r,
        model.bgnbd_alpha,
        {{ bgnbd_p_alive('calibration.frequency', 'calibration.recency', 'calibration.age',
                         'model.bgnbd_r', 'model.bgnbd_alpha', 'model.bgnbd_a', 'model.bgnbd_b') }} as p_alive,
        {{ gamma_gamma_expected_value('calibration.frequency', 'calibration.mean_repeat_value',
                                      'model.gg_p', 'model.gg_q', 'model.gg_v') }} as expected_average_order_value
    from calibration
    cross join model

),

valued as (

    select
        predicted.*,
        {{ bgnbd_p_no_purchase('predicted.p_alive', 'predicted.frequency', 'predicted.age',
                               (var('clv_churn_horizon_days') | int) ~ ' / ' ~ unit ~ '.0',
                               'predicted.bgnbd_r', 'predicted.bgnbd_alpha') }} as churn_risk,
        {{ bgnbd_p_no_purchase('predicted.p_alive', 'predicted.frequency', 'predicted.age',
                               'predicted.holdout_days / ' ~ unit ~ '.0',
                               'predicted.bgnbd_r', 'predicted.bgnbd_alpha') }} as p_no_holdout_purchase,
        scores.expected_purchases as predicted_holdout_purchases
    from predicted
    left join scores
        on predicted.customer_id = scores.customer_id and scores.basis = 'holdout'

),

final as (

    select
        valued.customer_id,
        cast(segments.cluster_id as integer) as cluster_id,
        segments.segment_name,
        cast(valued.value_model_version as integer) as value_model_version,
        valued.calibration_end,
        valued.holdout_days,
        valued.frequency as calibration_repeat_purchases,
        -- the summary is taken the day after the calibration end: its age counts that day too
        cast(valued.age_days - valued.recency_span_days - 1 as integer) as days_since_last_purchase,
        cast(valued.p_alive as {{ type_double() }}) as p_alive,
        cast(valued.churn_risk as {{ type_double() }}) as churn_risk,
        {{ churn_risk_band('valued.churn_risk') }} as churn_risk_band,
        valued.bought_in_churn_horizon,
        cast(1 - valued.p_no_holdout_purchase as {{ type_double() }}) as p_holdout_purchase,
        valued.holdout_purchases > 0 as bought_in_holdout,
        cast(valued.predicted_holdout_purchases as {{ type_double() }}) as predicted_holdout_purchases,
        valued.holdout_purchases as actual_holdout_purchases,
        cast(valued.predicted_holdout_purchases * valued.expected_average_order_value as {{ type_double() }})
            as predicted_holdout_revenue,
        valued.holdout_value as actual_holdout_revenue
    from valued
    left join segments
        on valued.customer_id = segments.customer_id

)

select * from final
