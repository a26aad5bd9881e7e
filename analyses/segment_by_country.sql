-- Customers and revenue of every ML segment by country (countries with 10+ customers).
with

by_country as (

    select
        country,
        segment_name,
        count(*) as customer_count,
        sum(monetary_value) as revenue
    from {{ ref('dim_customer_segments') }}
    group by country, segment_name

),

big_countries as (

    select country
    from by_country
    group by country
    having sum(customer_count) >= 10

)

select
    by_country.country,
    by_country.segment_name,
    by_country.customer_count,
    round(by_country.revenue, 2) as revenue,
    round(100.0 * by_country.customer_count / sum(by_country.customer_count) over (partition by by_country.country), 1)
        as pct_of_country
from by_country
inner join big_countries
    on by_country.country = big_countries.country
order by by_country.country asc, by_country.customer_count desc
