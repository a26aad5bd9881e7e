{#
    One row per customer and conflict: where a customer's ML segment, his RFM segment and his
    churn risk tell different stories, and why. A segment's name speaks for its typical customer
    (its median's position); a customer far from that middle can contradict it, as Online
    Retail's 17850 does (34 orders in two days a year ago: an ML "Champion" by orders and spend,
    "Can't Lose Them" on the RFM map, at high churn risk). The conflicts:
      recent_segment_long_silent  the segment's name says "bought recently" (seed segment_names:
                                  recency band high) but the customer is in the RFM map's two
                                  longest-silent recency quintiles (score 1 or 2);
      recent_segment_high_churn   the same name, and the value models give him a high churn risk;
      gone_segment_low_churn      the name says the customers are gone (claims_gone), and his
                                  churn risk is low.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

customer_value as (

    select * from {{ ref('dim_customer_value') }}

),

segment_names as (

    select * from {{ ref('segment_names') }}

),

named as (

    -- the seed rule behind each segment name ("Champions 2" is a repeat of Champions)
    select
        segments.customer_id,
        segments.cluster_id,
        segments.segment_name,
        segments.rfm_segment,
        segments.recency_score as rfm_recency_score,
        segments.recency_days,
        segments.order_count,
        segments.monetary_value,
        customer_value.churn_risk,
        customer_value.churn_risk_band,
        segment_names.recency_bands = 'high' as says_recent,
        coalesce(segment_names.claims_gone, false) as says_gone
    from segments
    inner join customer_value
        on segments.customer_id = customer_value.customer_id
    inner join segment_names
        on segments.segment_name = segment_names.segment_name
        or segments.segment_name like {{ dbt.concat(['segment_names.segment_name', "' %'"]) }}

),

conflicts as (

    select
        named.*,
        'recent_segment_long_silent' as disagreement,
        {{ dbt.concat([
            "'the segment says bought recently; this customer last bought '",
            "cast(named.recency_days as " ~ dbt.type_string() ~ ")",
            "' days ago (RFM recency score '",
            "cast(named.rfm_recency_score as " ~ dbt.type_string() ~ ")",
            "' of 5: '", "named.rfm_segment", "' on the RFM map)'"
        ]) }} as reason
    from named
    where named.says_recent and named.rfm_recency_score <= 2

    union all

    select
        named.*,
        'recent_segment_high_churn' as disagreement,
        {{ dbt.concat([
            "'the segment says bought recently; the value models give this customer a churn risk of '",
            "cast(round(named.churn_risk, 2) as " ~ dbt.type_string() ~ ")"
        ]) }} as reason
    from named
    where named.says_recent and named.churn_risk_band = 'high'

    union all

    select
        named.*,
        'gone_segment_low_churn' as disagreement,
        {{ dbt.concat([
            "'the segment says its customers are gone; the value models give this customer a churn risk of only '",
            "cast(round(named.churn_risk, 2) as " ~ dbt.type_string() ~ ")"
        ]) }} as reason
    from named
    where named.says_gone and named.churn_risk_band = 'low'

),

final as (

    select
        customer_id,
        disagreement,
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        rfm_segment,
        cast(churn_risk as {{ type_double() }}) as churn_risk,
        churn_risk_band,
        cast(recency_days as integer) as recency_days,
        cast(order_count as integer) as order_count,
        cast(monetary_value as {{ type_double() }}) as monetary_value,
        reason
    from conflicts

)

select * from final
