{#
    What the value models expect of each customer, for the segmentation's names to agree with
    (custseg.segmentation.naming: a name saying the customers are gone needs a high mean churn
    risk and, with clv_calibration_end, few holdout buyers; an action dropping a segment from
    targeting needs it to hold little of the predicted CLV). The churn risk and predicted CLV of
    ml_customer_value and, for calibration customers, whether they bought in the holdout (null
    without a calibration end). A customer table has no value models: no rows.
#}

{%- if input_kind() == 'transactions' %}

with

valued as (

    select * from {{ ref('ml_customer_value') }}

),

calibration as (

    select * from {{ ref('int_customers__value_calibration') }}

),

final as (

    select
        valued.customer_id,
        cast(valued.churn_risk as {{ type_double() }}) as churn_risk,
        cast(valued.predicted_clv as {{ type_double() }}) as predicted_clv,
        calibration.holdout_purchases > 0 as bought_in_holdout
    from valued
    left join calibration
        on valued.customer_id = calibration.customer_id

)

select * from final

{%- else %}

select
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ type_double() }}) as churn_risk,
    cast(null as {{ type_double() }}) as predicted_clv,
    cast(null as boolean) as bought_in_holdout
where 1 = 0

{%- endif %}
