{#
    One row per customer and horizon (clv_horizons_days, clv_horizon_days, clv_churn_horizon_days):
    the expected purchases over the next horizon_days, their expected value at the expected order
    value, and that value discounted at clv_discount_rate a year (the CLV over the horizon).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

scores as (

    select * from {{ ref('ml_customer_value_scores') }}

),

customers as (

    select * from {{ ref('dim_customer_value') }}

),

final as (

    select
        scores.customer_id,
        cast(scores.horizon_days as integer) as horizon_days,
        cast(scores.expected_purchases as {{ type_double() }}) as expected_purchases,
        cast(scores.expected_purchases * customers.expected_average_order_value as {{ type_double() }})
            as expected_value,
        cast(scores.discounted_expected_purchases * customers.expected_average_order_value as {{ type_double() }})
            as discounted_value
    from scores
    inner join customers
        on scores.customer_id = customers.customer_id
    where scores.basis = 'snapshot'

)

select * from final
