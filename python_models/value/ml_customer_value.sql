{#
    One row per customer with a purchase before the snapshot (net of refunds): what the active
    value model expects of them, before any segment is known (the segmentation's names check
    themselves against it: ml_segment_evidence). The expected purchases, P(alive) and churn
    risk come from ml_customer_value_scores (the chosen purchase model); the Gamma-Gamma expected
    order value is a closed form computed here (macros/value/btyd_closed_forms.sql). Served by
    marts.dim_customer_value, which adds the segment, the value decile and the notes.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

summary as (

    select * from {{ ref('int_customers__repeat_purchases') }}

),

active_model as (

    select * from {{ ref('ml_active_value_model') }}

),

model as (

    {{ usable_value_parameters('active_model') }}

),

scores as (

    select * from {{ ref('ml_customer_value_scores') }}

),

clv_horizon as (

    select
        customer_id,
        expected_purchases,
        discounted_expected_purchases
    from scores
    where basis = 'snapshot' and horizon_days = {{ var('clv_horizon_days') | int }}

),

churn_horizon as (

    select
        customer_id,
        p_alive,
        p_no_purchase
    from scores
    where basis = 'snapshot' and horizon_days = {{ var('clv_churn_horizon_days') | int }}

),

predicted as (

    select
        summary.customer_id,
        summary.frequency,
        summary.recency_span_days,
        summary.age_days,
        summary.total_value,
        summary.gross_value,
        summary.first_purchase_date,
        summary.last_purchase_date,
        summary.as_of_date,
        model.value_model_version,
        model.status as model_status,
        model.status_message as model_status_message,
        model.dropout_at_bound,
        {{ gamma_gamma_expected_value('summary.frequency', 'summary.mean_repeat_value',
                                      'model.gg_p', 'model.gg_q', 'model.gg_v') }} as expected_average_order_value,
        summary.age
    from summary
    cross join model

),

final as (

    select
        predicted.*,
        churn_horizon.p_alive,
        churn_horizon.p_no_purchase as churn_risk,
        clv_horizon.expected_purchases as predicted_number_of_orders,
        case
            when predicted.frequency > 0
                then cast(predicted.recency_span_days as {{ type_double() }}) / predicted.frequency
        end as average_days_between_orders,
        clv_horizon.discounted_expected_purchases * predicted.expected_average_order_value as predicted_clv,
        predicted.age_days < {{ var('clv_min_history_days') | int }} as is_new
    from predicted
    left join clv_horizon
        on predicted.customer_id = clv_horizon.customer_id
    left join churn_horizon
        on predicted.customer_id = churn_horizon.customer_id

)

select * from final
