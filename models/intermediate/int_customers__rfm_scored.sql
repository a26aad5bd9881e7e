{#
    RFM quintile scores (1 = worst, 5 = best) and the rule-based RFM segment.

    Scores are ntile(5) over the customers; ties are broken by customer_id so the same data
    always gives the same scores. fm_score is the mean of frequency and monetary scores rounded
    half up. The segment comes from the editable seed rfm_segment_rules (first rule_id wins).
#}

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
        ntile(5) over (order by recency_days desc, customer_id) as recency_score,
        ntile(5) over (order by order_count asc, customer_id) as frequency_score,
        ntile(5) over (order by monetary_value asc, customer_id) as monetary_score
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
        customer_id,
        recency_score,
        frequency_score,
        monetary_score,
        fm_score,
        rfm_cell,
        rfm_segment
    from matched
    where rule_rank = 1

)

select * from final
