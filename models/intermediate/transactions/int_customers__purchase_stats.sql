{#
    One row per customer with a purchase or a return: the per-customer aggregates of
    int_customers__features that do not depend on the snapshot date, over the lines before it
    (window_end, the snapshot this row was computed for), plus the customer's last line dates.

    Kept incrementally on DuckDB, so a weekly batch pays for its customers, not for the whole
    store (issue 13): a build recomputes, from all their stored lines, only the customers
    - with a purchase or return in a batch loaded after this table's last build
      (batch_id > through_batch_id), or
    - whose window changed: their row was computed for another snapshot and they have a line
      between the two (only when var as_of_date changes; without it the snapshot is the day after
      the last purchase and only moves forward, past every stored line).
    Every other row is exactly what a full recomputation would give: the line store is
    append-only, so the customer's lines, and the ones before the snapshot, are the same.
    A customer with no purchase left before the snapshot keeps a row with a null order_count
    (delete+insert replaces rows, it cannot drop them); int_customers__features skips it.
    On engines without delete+insert on plain tables (Spark), a table rebuilt every build.

    Purchases are the clean lines; returns the cancellation lines of real products (not
    duplicates, positive price), valued at |line_amount|.
#}
{{ config(
    enabled=input_kind() == 'transactions',
    materialized=upsert_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
) }}


with

classified as {{ inline_cte() }} (

    select * from {{ ref('int_transactions__classified') }}

),

relevant as {{ inline_cte() }} (

    select
        classified.customer_id,
        classified.quarantine_reason,
        classified.batch_id,
        coalesce(classified.invoice_id, classified.order_id_fallback) as order_id,
        classified.stock_code,
        classified.country,
        classified.quantity,
        classified.line_amount,
        classified.invoiced_at,
        cast(classified.invoiced_at as date) as invoice_date
    from classified
    where
        classified.quarantine_reason is null
        or (
            classified.quarantine_reason = 'cancellation'
            and not classified.is_non_product
            and classified.unit_price > 0
        )

),

{% if is_incremental() -%}
stored as (

    select * from {{ this }}

),

new_lines as (

    select
        relevant.customer_id,
        relevant.quarantine_reason,
        relevant.invoice_date
    from relevant
    where relevant.batch_id > (select coalesce(max(stored.through_batch_id), 0) from stored)

),

snapshot as (

    select {{ customers_snapshot('last_purchase.last_clean_date') }} as as_of_date
    from (
        select max(all_lines.last_clean_date) as last_clean_date
        from (
            select stored.last_clean_date from stored
            union all
            select new_lines.invoice_date as last_clean_date
            from new_lines
            where new_lines.quarantine_reason is null
        ) as all_lines
    ) as last_purchase

),

affected as (

    select new_lines.customer_id from new_lines
    union
    select stored.customer_id
    from stored
    cross join snapshot
    where
        stored.window_end <> snapshot.as_of_date
        and stored.last_line_date >= least(stored.window_end, snapshot.as_of_date)

),

customer_lines as {{ inline_cte() }} (

    select relevant.*
    from relevant
    where relevant.customer_id in (select affected.customer_id from affected)

),

{%- else %}
snapshot as (

    select {{ customers_snapshot('last_purchase.last_clean_date') }} as as_of_date
    from (
        select max(relevant.invoice_date) as last_clean_date
        from relevant
        where relevant.quarantine_reason is null
    ) as last_purchase

),

customer_lines as {{ inline_cte() }} (

    select * from relevant

),

{%- endif %}

in_window as {{ inline_cte() }} (

    select customer_lines.*
    from customer_lines
    cross join snapshot
    where customer_lines.invoice_date < snapshot.as_of_date

),

orders as (

    select
        customer_id,
        order_id,
        min(invoiced_at) as ordered_at,
        {{ sum_money('line_amount') }} as order_value,
        sum(quantity) as order_items
    from in_window
    where quarantine_reason is null
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
        count(case when quarantine_reason is null then 1 end) as line_count,
        count(distinct case when quarantine_reason is null then stock_code end) as distinct_products,
        count(case when quarantine_reason = 'cancellation' then 1 end) as return_line_count,
        coalesce(
            {{ sum_money("case when quarantine_reason = 'cancellation' then abs(line_amount) end") }}, 0
        ) as returned_value
    from in_window
    group by customer_id

),

country_ranked as (

    select
        customer_id,
        country,
        row_number() over (partition by customer_id order by count(*) desc, country asc) as country_rank
    from in_window
    where quarantine_reason is null
    group by customer_id, country

),

customers as (

    select
        customer_id,
        max(invoice_date) as last_line_date,
        max(case when quarantine_reason is null then invoice_date end) as last_clean_date
    from customer_lines
    group by customer_id

),

final as (

    select
        customers.customer_id,
        snapshot.as_of_date as window_end,
        (select max(classified.batch_id) from classified) as through_batch_id,
        customers.last_line_date,
        customers.last_clean_date,
        order_stats.first_purchase_at,
        order_stats.last_purchase_at,
        order_stats.order_count,
        order_stats.monetary_gross,
        order_stats.item_count,
        order_stats.purchase_span_days,
        line_stats.line_count,
        line_stats.distinct_products,
        line_stats.return_line_count,
        line_stats.returned_value,
        country_ranked.country

    from customers
    cross join snapshot
    left join order_stats
        on customers.customer_id = order_stats.customer_id
    left join line_stats
        on customers.customer_id = line_stats.customer_id
    left join country_ranked
        on customers.customer_id = country_ranked.customer_id
        and country_ranked.country_rank = 1

)

select * from final
