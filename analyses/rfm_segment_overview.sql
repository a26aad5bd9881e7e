{{ config(enabled=input_kind() == 'transactions') }}
-- Size, value and behaviour of each rule-based RFM segment, best segments first.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

playbook as (

    select * from {{ ref('rfm_segments') }}

)

select
    customers.rfm_segment,
    count(*) as customer_count,
    round(avg(customers.recency_days), 1) as mean_recency_days,
    round(avg(customers.order_count), 2) as mean_order_count,
    round(avg(customers.monetary_value), 2) as mean_monetary_value,
    round(sum(customers.monetary_value) / sum(sum(customers.monetary_value)) over (), 4) as revenue_share,
    max(playbook.recommended_action) as recommended_action
from customers
left join playbook
    on customers.rfm_segment = playbook.segment_name
group by customers.rfm_segment, playbook.display_order
order by playbook.display_order
