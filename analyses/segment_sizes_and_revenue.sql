-- ML segments: customers, revenue and their shares, biggest revenue first.
select
    segment_name,
    customer_count,
    round(100 * customer_share, 1) as pct_customers,
    round(revenue, 2) as revenue,
    round(100 * revenue_share, 1) as pct_revenue,
    round(revenue / customer_count, 2) as revenue_per_customer
from {{ ref('fct_segment_profiles') }}
order by revenue desc
