{#
    One row per customer with a purchase before the snapshot: what the value models expect of
    them (active version of ml_value_models). P(alive), churn risk and the expected order value
    are closed forms computed here (macros/value/btyd_closed_forms.sql); the expected purchases
    come from ml_customer_value_scores (Gauss hypergeometric function). The fields Klaviyo's
    predictive analytics shows per profile carry its names (historic, predicted and total CLV,
    churn risk, average days between orders, expected date of next order).
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set unit = clv_unit_days() %}

with

summary as (

    select * from {{ ref('int_customers__repeat_purchases') }}

),

active_model as (

    select * from {{ ref('ml_active_value_model') }}

),

model as (

    -- the parameters only of a version with usable ones (else every prediction is null)
    select
        value_model_version,
        status,
        status_message,
        case when status = 'fitted' then bgnbd_r end as bgnbd_r,
        case when status = 'fitted' then bgnbd_alpha end as bgnbd_alpha,
        case when status = 'fitted' then bgnbd_a end as bgnbd_a,
        case when status = 'fitted' then bgnbd_b end as bgnbd_b,
        case when status = 'fitted' then gg_p end as gg_p,
        case when status = 'fitted' then gg_q end as gg_q,
        case when status = 'fitted' then gg_v end as gg_v
    from active_model

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

predicted as (

    select
        summary.customer_id,
        summary.frequency,
        summary.recency_span_days,
        summary.age_days,
        summary.total_value,
        summary.first_purchase_date,
        summary.last_purchase_date,
        summary.as_of_date,
        model.value_model_version,
        model.status as model_status,
        model.status_message as model_status_message,
        {{ bgnbd_p_alive('summary.frequency', 'summary.recency', 'summary.age',
                         'model.bgnbd_r', 'model.bgnbd_alpha', 'model.bgnbd_a', 'model.bgnbd_b') }} as p_alive,
        {{ gamma_gamma_expected_value('summary.frequency', 'summary.mean_repeat_value',
                                      'model.gg_p', 'model.gg_q', 'model.gg_v') }} as expected_average_order_value,
        summary.age,
        model.bgnbd_r,
        model.bgnbd_alpha
    from summary
    cross join model

),

valued as (

    select
        predicted.*,
        {{ bgnbd_p_no_purchase('predicted.p_alive', 'predicted.frequency', 'predicted.age',
                               (var('clv_churn_horizon_days') | int) ~ ' / ' ~ unit ~ '.0',
                               'predicted.bgnbd_r', 'predicted.bgnbd_alpha') }} as churn_risk,
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
        valued.average_days_between_orders,
        cast({{ dbt.dateadd(
            'day', 'cast(round(valued.average_days_between_orders) as integer)', 'valued.last_purchase_date'
        ) }} as date) as expected_date_of_next_order,
        cast(valued.p_alive as {{ type_double() }}) as p_alive,
        cast(valued.churn_risk as {{ type_double() }}) as churn_risk,
        case
            when valued.churn_risk is null then null
            when valued.churn_risk < 1.0 / 3 then 'low'
            when valued.churn_risk < 2.0 / 3 then 'medium'
            else 'high'
        end as churn_risk_band,
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
    left join segments
        on valued.customer_id = segments.customer_id

)

select * from final
