{#
    One row per customer with at least one clean purchase before the snapshot date: recency,
    frequency, monetary value (gross and net of returns) and engineered behaviour features.

    Snapshot: var('as_of_date') if set (lines on or after it are ignored), else the day after
    the last clean purchase. Returns: the customer's cancellation lines of real products (not
    duplicates, positive price) before the snapshot, valued at |quantity * unit_price|.

    Reads the classified lines (intermediate), not the fct_transactions mart: the graph runs one
    way. Purchases are its clean lines, with the order id and date that mart derives too.
#}
{{ config(enabled=input_kind() == 'transactions') }}


{%- set as_of_date = date_var('as_of_date') %}


with

classified as {{ inline_cte() }} (

    select * from {{ ref('int_transactions__classified') }}

),

purchases as {{ inline_cte() }} (

    select
        classified.*,
        coalesce(classified.invoice_id, classified.order_id_fallback) as order_id,
        cast(classified.invoiced_at as date) as invoice_date
    from classified
    where classified.quarantine_reason is null

),

snapshot as (

    {% if as_of_date -%}
    select {{ as_of_date }} as as_of_date
    {%- else -%}
    select cast({{ dbt.dateadd('day', 1, 'max(invoice_date)') }} as date) as as_of_date
    from purchases
    {%- endif %}

),

purchases_in_window as {{ inline_cte() }} (

    select purchases.*
    from purchases
    cross join snapshot
    where purchases.invoice_date < snapshot.as_of_date

),

returns as (

    select
        classified.customer_id,
        count(*) as return_line_count,
        {{ sum_money('abs(classified.line_amount)') }} as returned_value
    from classified
    cross join snapshot
    where
        classified.quarantine_reason = 'cancellation'
        and not classified.is_non_product
        and classified.unit_price > 0
        and cast(classified.invoiced_at as date) < snapshot.as_of_date
    group by classified.customer_id

),

orders as (

    select
        customer_id,
        order_id,
        min(invoiced_at) as ordered_at,
        {{ sum_money('line_amount') }} as order_value,
        sum(quantity) as order_items
    from purchases_in_window
    group by customer_id, order_id

),

order_stats as (

    select
        customer_id,
        count(*) as order_count,
        min(ordered_at) as first_purchase_at,
        max(ordered_at) as last_purchase_at,
        sum(order_value) as monetary_gross,
        sum(order_items) as item_count,
        {{ dbt.datediff('cast(min(ordered_at) as date)', 'cast(max(ordered_at) as date)', 'day') }}
            as purchase_span_days
    from orders
    group by customer_id

),

line_stats as (

    select
        customer_id,
        count(*) as line_count,
        count(distinct stock_code) as distinct_products
    from purchases_in_window
    group by customer_id

),

country_ranked as (

    select
        customer_id,
        country,
        row_number() over (partition by customer_id order by count(*) desc, country) as country_rank
    from purchases_in_window
    group by customer_id, country

),

final as (

    select
        order_stats.customer_id,
        snapshot.as_of_date,
        order_stats.first_purchase_at,
        order_stats.last_purchase_at,

        ---------- RFM
        {{ dbt.datediff('cast(order_stats.last_purchase_at as date)', 'snapshot.as_of_date', 'day') }}
            as recency_days,
        order_stats.order_count,
        order_stats.monetary_gross - coalesce(returns.returned_value, 0) as monetary_value,

        ---------- behaviour
        order_stats.monetary_gross,
        coalesce(returns.returned_value, 0) as returned_value,
        {{ dbt.datediff('cast(order_stats.first_purchase_at as date)', 'snapshot.as_of_date', 'day') }}
            as tenure_days,
        -- money is decimal: divide as doubles (Spark would keep a decimal of scale 6)
        cast(order_stats.monetary_gross as {{ type_double() }}) / order_stats.order_count as avg_order_value,
        order_stats.item_count / order_stats.order_count as items_per_order,
        line_stats.line_count,
        line_stats.distinct_products,
        coalesce(returns.return_line_count, 0) as return_line_count,
        cast(coalesce(returns.returned_value, 0) as {{ type_double() }})
        / cast(order_stats.monetary_gross as {{ type_double() }}) as return_rate,
        case
            when order_stats.order_count > 1
                then order_stats.purchase_span_days / cast(order_stats.order_count - 1 as {{ type_double() }})
        end as mean_days_between_orders,
        country_ranked.country

    from order_stats
    cross join snapshot
    inner join line_stats
        on order_stats.customer_id = line_stats.customer_id
    inner join country_ranked
        on order_stats.customer_id = country_ranked.customer_id
        and country_ranked.country_rank = 1
    left join returns
        on order_stats.customer_id = returns.customer_id

)

select * from final
