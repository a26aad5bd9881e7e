{#
    One row per customer: RFM and engineered features, RFM quintile scores and the rule-based
    RFM segment with its description and recommended action. The table analysts start from.
#}

with

features as (

    select * from {{ ref('int_customers__features') }}

),

rfm as (

    select * from {{ ref('int_customers__rfm_scored') }}

),

playbook as (

    select * from {{ ref('rfm_segments') }}

),

final as (

    select
        features.customer_id,
        features.country,
        features.as_of_date,
        features.first_purchase_at,
        features.last_purchase_at,
        cast(features.recency_days as integer) as recency_days,
        cast(features.order_count as integer) as order_count,
        -- computed from the two doubles below so monetary_value = monetary_gross - returned_value exactly
        cast(features.monetary_gross as {{ type_double() }})
            - cast(features.returned_value as {{ type_double() }}) as monetary_value,
        cast(features.monetary_gross as {{ type_double() }}) as monetary_gross,
        cast(features.returned_value as {{ type_double() }}) as returned_value,
        cast(features.tenure_days as integer) as tenure_days,
        cast(features.avg_order_value as {{ type_double() }}) as avg_order_value,
        cast(features.items_per_order as {{ type_double() }}) as items_per_order,
        cast(features.line_count as integer) as line_count,
        cast(features.distinct_products as integer) as distinct_products,
        cast(features.return_line_count as integer) as return_line_count,
        cast(features.return_rate as {{ type_double() }}) as return_rate,
        cast(features.mean_days_between_orders as {{ type_double() }}) as mean_days_between_orders,
        cast(rfm.recency_score as integer) as recency_score,
        cast(rfm.frequency_score as integer) as frequency_score,
        cast(rfm.monetary_score as integer) as monetary_score,
        rfm.fm_score,
        rfm.rfm_cell,
        rfm.rfm_segment,
        playbook.description as rfm_segment_description,
        playbook.recommended_action as rfm_recommended_action
    from features
    inner join rfm
        on features.customer_id = rfm.customer_id
    left join playbook
        on rfm.rfm_segment = playbook.segment_name

)

select * from final
