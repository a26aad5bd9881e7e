-- Cross-tab of the rule-based RFM map against the ML segments: where do they agree?
select
    rfm_segment,
    segment_name as ml_segment,
    count(*) as customer_count,
    round(100.0 * count(*) / sum(count(*)) over (partition by rfm_segment), 1) as pct_of_rfm_segment
from {{ ref('dim_customer_segments') }}
group by rfm_segment, segment_name
order by rfm_segment asc, customer_count desc
