{#
    One row per segment: where next year's revenue comes from. Customers, mean P(alive) and
    churn risk, customers at high churn risk, historic value, and the predicted CLV over
    clv_horizon_days with its share of every segment's.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

customers as (

    select * from {{ ref('dim_customer_value') }}

),

segments as (

    select
        cluster_id,
        segment_name,
        count(*) as customers,
        {{ mean_exact('p_alive') }} as mean_p_alive,
        {{ mean_exact('churn_risk') }} as mean_churn_risk,
        sum(case when churn_risk_band = 'high' then 1 else 0 end) as high_churn_risk_customers,
        cast({{ sum_money('historic_clv') }} as {{ type_double() }}) as historic_clv,
        cast({{ sum_money('predicted_clv') }} as {{ type_double() }}) as predicted_clv
    from customers
    group by cluster_id, segment_name

),

final as (

    select
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        cast(customers as bigint) as customers,
        cast(mean_p_alive as {{ type_double() }}) as mean_p_alive,
        cast(mean_churn_risk as {{ type_double() }}) as mean_churn_risk,
        cast(high_churn_risk_customers as bigint) as high_churn_risk_customers,
        historic_clv,
        predicted_clv,
        predicted_clv / nullif(sum(predicted_clv) over (), 0) as predicted_clv_share
    from segments

)

select * from final
