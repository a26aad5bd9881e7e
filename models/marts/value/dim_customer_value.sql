{#
    One row per customer with a purchase before the snapshot (net of refunds: a customer all of
    whose purchases were refunded has none): what the value models expect of them (active
    version of ml_value_models, computed per customer in ml_customer_value) beside the segment,
    the value decile and whether the purchases identify dropout at all. The fields Klaviyo's
    predictive analytics shows per profile carry its names (historic, predicted and total CLV,
    churn risk, average days between orders, expected date of next order).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

valued as (

    select * from {{ ref('ml_customer_value') }}

),

segments as (

    select * from {{ ref('dim_customer_segments') }}

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
