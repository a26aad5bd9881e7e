-- The five highest-value customers of every ML segment.
with

ranked as (

    select
        segment_name,
        customer_id,
        country,
        monetary_value,
        order_count,
        recency_days,
        row_number() over (partition by segment_name order by monetary_value desc, customer_id asc) as value_rank
    from {{ ref('dim_customer_segments') }}

)

select *
from ranked
where value_rank <= 5
order by segment_name, value_rank
