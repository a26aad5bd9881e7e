{#
    One row per customer with a purchase before the snapshot (net of refunds: a customer all of
    whose purchases were refunded has none): what the value models expect of them (active
    version of ml_value_models). The expected purchases, P(alive) and churn risk
    come from ml_customer_value_scores (the active version's chosen purchase model, clv_model);
    the Gamma-Gamma expected order value is a closed form computed here
    (macros/value/btyd_closed_forms.sql). The fields Klaviyo's
    predictive analytics shows per profile carry its names (historic, predicted and total CLV,
    churn risk, average days between orders, expected date of next order).
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

segments as (

    select * from {{ ref('dim_customer_segments') }}

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

valued as (

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

),

dropout as (

    -- whether the purchases identify dropout at all: no dropout parameter of the chosen model
    -- stopped at its search bound, and fewer than 90% of the repeat customers have P(alive)
    -- above 0.99 (BG/NBD gives one-time buyers 1 by construction); null without a usable model
    select
        not coalesce(max(case when dropout_at_bound then 1 else 0 end) = 1, false)
        and avg(case when p_alive > 0.99 then 1.0 else 0.0 end) < 0.9 as dropout_identified
    from valued
    where frequency > 0

),

final as (

    select
        valued.customer_id,
        cast(segments.cluster_id as integer) as cluster_id,
        segments.segment_name,
        cast(valued.value_model_version as integer) as value_model_version,
        valued.as_of_date,
        valued.first_purchase_date,
        valued.last_purchase_date,
        valued.frequency as repeat_purchases,
        cast(valued.total_value as {{ type_double() }}) as historic_clv,
        cast(valued.gross_value as {{ type_double() }}) as historic_clv_gross,
        valued.average_days_between_orders,
        cast({{ dbt.dateadd(
            'day', 'cast(round(valued.average_days_between_orders) as integer)', 'valued.last_purchase_date'
        ) }} as date) as expected_date_of_next_order,
        cast(valued.p_alive as {{ type_double() }}) as p_alive,
        dropout.dropout_identified,
        cast(valued.churn_risk as {{ type_double() }}) as churn_risk,
        cast({{ var('clv_churn_horizon_days') | int }} as integer) as churn_horizon_days,
        {{ churn_risk_band('valued.churn_risk') }} as churn_risk_band,
        cast(valued.predicted_number_of_orders as {{ type_double() }}) as predicted_number_of_orders,
        cast(valued.expected_average_order_value as {{ type_double() }}) as expected_average_order_value,
        cast(valued.predicted_clv as {{ type_double() }}) as predicted_clv,
        cast(valued.total_value + valued.predicted_clv as {{ type_double() }}) as total_clv,
        case
            when valued.predicted_clv is not null
                then cast(ntile(10) over (
                    partition by valued.predicted_clv is null
                    order by valued.predicted_clv desc, valued.customer_id asc
                ) as integer)
        end as value_decile,
        valued.is_new or valued.model_status <> 'fitted' as too_little_history,
        case
            when valued.model_status <> 'fitted' then valued.model_status_message
            when valued.is_new then {{ sql_string(
                'first purchase fewer than ' ~ (var('clv_min_history_days') | int)
                ~ ' days before the snapshot: the prediction is mostly the population average'
            ) }}
        end as prediction_note
    from valued
    cross join dropout
    left join segments
        on valued.customer_id = segments.customer_id

)

select * from final
