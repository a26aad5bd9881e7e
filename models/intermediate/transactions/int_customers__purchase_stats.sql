{#
    One row per customer with a purchase or a return: the per-customer aggregates of
    int_customers__features that do not depend on the snapshot date, over the lines before it
    (window_end, the snapshot this row was computed for), plus the customer's last line dates.

    Kept incrementally on DuckDB, so a weekly batch pays for its lines, not for its customers'
    stored lines (issues 13 and 29). A build touches only the customers with a purchase or return
    in a batch loaded after this table's last build (batch_id > through_batch_id), or whose window
    changed (only when var as_of_date changes; without it the snapshot is the day after the last
    purchase and only moves forward, past every stored line). Of these, it
    - merges the batch into the stored row (merged, below): counts and sums add, first and last
      dates take the least and greatest. Exact because the batch's pairs are checked against the
      store's lines of its customers (earlier): its (customer, product) pairs already held are
      not counted again in distinct_products, and the stored lines per country are ranked with
      the batch's for the most frequent one; a customer
    - is recomputed from all their stored lines when the merge could be wrong: their window
      moved past one of their lines, or the batch continues an order already stored (its first
      line time may change).
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

through as (

    select coalesce(max(stored.through_batch_id), 0) as batch_id from stored

),

new_lines as {{ inline_cte() }} (

    select relevant.*
    from relevant
    where relevant.batch_id > (select through.batch_id from through)

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

new_purchases as (

    -- the batch's clean lines inside the window: what can change a stored row's purchases
    select
        new_lines.customer_id,
        new_lines.order_id,
        new_lines.stock_code
    from new_lines
    cross join snapshot
    where
        new_lines.quarantine_reason is null
        and new_lines.invoice_date < snapshot.as_of_date

),

new_orders as (

    select distinct new_purchases.customer_id, new_purchases.order_id from new_purchases

),

new_products as (

    select distinct new_purchases.customer_id, new_purchases.stock_code from new_purchases

),

earlier as {{ inline_cte() }} (

    -- the stored clean lines inside the window of the batch's customers
    select
        relevant.customer_id,
        relevant.order_id,
        relevant.stock_code,
        relevant.country
    from relevant
    cross join snapshot
    where
        relevant.batch_id <= (select through.batch_id from through)
        and relevant.quarantine_reason is null
        and relevant.invoice_date < snapshot.as_of_date
        and relevant.customer_id in (select new_purchases.customer_id from new_purchases)

),

earlier_countries as (

    -- their lines per country, and whether the batch continues one of their orders (exists:
    -- a semi join, built on the batch's pairs; a join was built on the store's lines, 7 s at 100M)
    select
        earlier.customer_id,
        earlier.country,
        count(*) as line_count,
        max(
            case
                when exists (
                    select 1
                    from new_orders
                    where
                        earlier.customer_id = new_orders.customer_id
                        and earlier.order_id = new_orders.order_id
                ) then 1
                else 0
            end
        ) as continues_an_order
    from earlier
    group by earlier.customer_id, earlier.country

),

repeated_products as (

    -- the batch's (customer, product) pairs the store already holds
    select
        earlier.customer_id,
        count(distinct earlier.stock_code) as product_count
    from earlier
    where exists (
        select 1
        from new_products
        where
            earlier.customer_id = new_products.customer_id
            and earlier.stock_code = new_products.stock_code
    )
    group by earlier.customer_id

),

recomputed as (

    -- customers whose row cannot be merged: their window moved past one of their lines, or
    -- the batch continues one of their stored orders (its first line time may change)
    select stored.customer_id
    from stored
    cross join snapshot
    where
        stored.window_end <> snapshot.as_of_date
        and stored.last_line_date >= least(stored.window_end, snapshot.as_of_date)
    union
    select earlier_countries.customer_id from earlier_countries where earlier_countries.continues_an_order = 1

),

customer_lines as (

    -- all the lines of the recomputed customers, and the batch's lines of the others, whose
    -- aggregates are merged into their stored row (merged, below)
    select relevant.*
    from relevant
    where relevant.customer_id in (select recomputed.customer_id from recomputed)
    union all
    select new_lines.*
    from new_lines
    where new_lines.customer_id not in (select recomputed.customer_id from recomputed)

),

earlier_country_lines as (

    select
        earlier_countries.customer_id,
        earlier_countries.country,
        earlier_countries.line_count
    from earlier_countries
    where earlier_countries.customer_id not in (select recomputed.customer_id from recomputed)

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

country_lines as (

    select
        customer_id,
        country,
        count(*) as line_count
    from in_window
    where quarantine_reason is null
    group by customer_id, country
    {%- if is_incremental() %}
    union all
    select * from earlier_country_lines
    {%- endif %}

),

country_ranked as (

    select
        customer_id,
        country,
        row_number() over (partition by customer_id order by sum(line_count) desc, country asc) as country_rank
    from country_lines
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

){% if is_incremental() %},

kept as (

    select stored.*
    from stored
    where stored.customer_id not in (select recomputed.customer_id from recomputed)

),

{#- the merged dates: the least or greatest of the stored and the batch's, either may be null #}
{%- set extremes = {} %}
{%- for column, pick in [
    ('last_line_date', 'greatest'), ('last_clean_date', 'greatest'),
    ('first_purchase_at', 'least'), ('last_purchase_at', 'greatest'),
] %}
    {%- do extremes.update({column: pick ~ '(coalesce(final.' ~ column ~ ', kept.' ~ column ~ '), coalesce(kept.'
                                    ~ column ~ ', final.' ~ column ~ '))'}) %}
{%- endfor %}

merged as (

    -- a kept customer's stored row plus the batch's lines (final holds their aggregates): the
    -- batch's orders are new orders, so counts and sums add; its products are new but for the
    -- ones the store already holds (repeated_products); final's country ranks the stored lines'
    -- countries with the batch's (country_lines)
    select
        final.customer_id,
        final.window_end,
        final.through_batch_id,
        {%- for column, merged_value in extremes.items() %}
        {{ merged_value }} as {{ column }},
        {%- endfor %}
        {%- for column in ['order_count', 'monetary_gross', 'item_count'] %}
        case
            when kept.{{ column }} is null then final.{{ column }}
            when final.{{ column }} is null then kept.{{ column }}
            else kept.{{ column }} + final.{{ column }}
        end as {{ column }},
        {%- endfor %}
        case
            when kept.order_count is null or final.order_count is null then coalesce(
                final.purchase_span_days, kept.purchase_span_days
            )
            else {{ dbt.datediff('cast(' ~ extremes['first_purchase_at'] ~ ' as date)', 'cast(' ~ extremes['last_purchase_at'] ~ ' as date)', 'day') }}
        end as purchase_span_days,
        {%- for column in ['line_count', 'distinct_products', 'return_line_count', 'returned_value'] %}
        case
            when kept.{{ column }} is null then final.{{ column }}
            when final.{{ column }} is null then kept.{{ column }}
            else kept.{{ column }} + final.{{ column }}
            {%- if column == 'distinct_products' %} - coalesce(repeated_products.product_count, 0){% endif %}
        end as {{ column }},
        {%- endfor %}
        coalesce(final.country, kept.country) as country
    from final
    left join kept
        on final.customer_id = kept.customer_id
    left join repeated_products
        on final.customer_id = repeated_products.customer_id

)

select * from merged
{%- else %}

select * from final
{%- endif %}
