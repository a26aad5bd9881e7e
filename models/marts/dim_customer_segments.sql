{#
    One row per customer: the ML segment (cluster id, business name, confidence, distances)
    beside the rule-based RFM segment and the key features. The table to target campaigns from.
#}

with

assignments as (

    select * from {{ ref('ml_customer_scores') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

playbook as (

    select * from {{ ref('segment_names') }}

),

final as (

    select
        assignments.customer_id,
        cast(assignments.cluster_id as integer) as cluster_id,
        assignments.segment_name,
        playbook.description as segment_description,
        playbook.recommended_action,
        cast(assignments.confidence as {{ type_double() }}) as confidence,
        cast(assignments.distance_to_centroid as {{ type_double() }}) as distance_to_centroid,
        cast(assignments.distance_to_next_centroid as {{ type_double() }}) as distance_to_next_centroid,
        customers.rfm_segment,
        customers.rfm_cell,
        customers.recency_score,
        customers.frequency_score,
        customers.monetary_score,
        customers.recency_days,
        customers.order_count,
        customers.monetary_value,
        customers.tenure_days,
        customers.avg_order_value,
        customers.return_rate,
        customers.country,
        customers.as_of_date
    from assignments
    inner join customers
        on assignments.customer_id = customers.customer_id
    left join playbook
        on assignments.segment_name = playbook.segment_name

)

select * from final
