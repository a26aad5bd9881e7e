{#
    One row per customer: the ML segment (cluster id, business name, confidence, distances)
    beside the rule-based RFM segment and the key features. The table to target campaigns from.
    From a customer table (var customers_path) the RFM and purchase columns are null: that
    input has no purchases; marts.dim_customer_attributes holds its own columns.
#}

with

assignments as (

    select * from {{ ref('ml_customer_scores') }}

),

customers as (

    select * from {{ ref('int_customers__segmentation_input') }}

),

named_segments as (

    select * from {{ ref('dim_segments') }}

),

final as (

    select
        assignments.customer_id,
        cast(assignments.cluster_id as integer) as cluster_id,
        assignments.segment_name,
        named_segments.description as segment_description,
        named_segments.recommended_action,
        cast(assignments.confidence as {{ type_double() }}) as confidence,
        cast(assignments.distance_to_centroid as {{ type_double() }}) as distance_to_centroid,
        cast(assignments.distance_to_next_centroid as {{ type_double() }}) as distance_to_next_centroid,
        assignments.scoring_rule,
        {%- if input_kind() == 'transactions' %}
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
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as rfm_segment,
        cast(null as {{ dbt.type_string() }}) as rfm_cell,
        cast(null as integer) as recency_score,
        cast(null as integer) as frequency_score,
        cast(null as integer) as monetary_score,
        cast(null as integer) as recency_days,
        cast(null as integer) as order_count,
        cast(null as {{ type_double() }}) as monetary_value,
        cast(null as integer) as tenure_days,
        cast(null as {{ type_double() }}) as avg_order_value,
        cast(null as {{ type_double() }}) as return_rate,
        cast(null as {{ dbt.type_string() }}) as country,
        customers.as_of_date
        {%- endif %}
    from assignments
    inner join customers
        on assignments.customer_id = customers.customer_id
    left join named_segments
        on assignments.cluster_id = named_segments.cluster_id

)

select * from final
