{#
    RFM quintile scores (1 = worst, 5 = best) and the rule-based RFM segment.

    Scores are ntile(5) over the customers; ties are broken by customer_id so the same data
    always gives the same scores. fm_score is the mean of frequency and monetary scores rounded
    half up. The segment comes from the editable seed rfm_segment_rules (first rule_id wins).

    Carries every customer feature with its final type, so this is the one customer table the
    ML layer reads (python_models/ read intermediate models only) and dim_customers serves it
    with the playbook joined: both see exactly the same values.
#}
{{ config(enabled=input_kind() == 'transactions') }}


with

features as (

    select * from {{ ref('int_customers__features') }}

),

rules as (

    select * from {{ ref('rfm_segment_rules') }}

),

scored as (

    select
        customer_id,
        ntile(5) over (order by recency_days desc, customer_id asc) as recency_score,
        ntile(5) over (order by order_count asc, customer_id asc) as frequency_score,
        ntile(5) over (order by monetary_value asc, customer_id asc) as monetary_score
    from features

),

combined as (

    select
        *,
        cast(floor((frequency_score + monetary_score + 1) / 2.0) as integer) as fm_score,
        cast(recency_score as {{ dbt.type_string() }})
        || cast(frequency_score as {{ dbt.type_string() }})
        || cast(monetary_score as {{ dbt.type_string() }}) as rfm_cell
    from scored

),

matched as (

    select
        combined.*,
        rules.segment_name as rfm_segment,
        row_number() over (partition by combined.customer_id order by rules.rule_id) as rule_rank
    from combined
    left join rules
        on combined.recency_score between rules.recency_score_min and rules.recency_score_max
        and combined.fm_score between rules.fm_score_min and rules.fm_score_max

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
        cast(matched.recency_score as integer) as recency_score,
        cast(matched.frequency_score as integer) as frequency_score,
        cast(matched.monetary_score as integer) as monetary_score,
        matched.fm_score,
        matched.rfm_cell,
        matched.rfm_segment
    from matched
    inner join features
        on matched.customer_id = features.customer_id
    where matched.rule_rank = 1

)

select * from final
