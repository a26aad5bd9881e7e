{#
    One row per customer with at least one clean purchase before the snapshot date: recency,
    frequency, monetary value (gross and net of returns) and engineered behaviour features.

    Snapshot: var('as_of_date') if set (lines on or after it are ignored), else the day after
    the last clean purchase (macro customers_snapshot). Returns: the customer's cancellation lines
    of real products (not duplicates, positive price) before the snapshot, valued at
    |quantity * unit_price|.

    The per-customer aggregates come from int_customers__purchase_stats (kept incrementally, so
    a weekly batch recomputes only its customers); what counts from the snapshot (recency,
    tenure) and the ratios are derived here, for every customer, in one pass over that table.
#}
{{ config(enabled=input_kind() == 'transactions') }}


with

stats as (

    select * from {{ ref('int_customers__purchase_stats') }}

),

snapshot as (

    select {{ customers_snapshot('last_purchase.last_clean_date') }} as as_of_date
    from (select max(stats.last_clean_date) as last_clean_date from stats) as last_purchase

),

final as (

    select
        stats.customer_id,
        snapshot.as_of_date,
        stats.first_purchase_at,
        stats.last_purchase_at,

        ---------- RFM
        {{ dbt.datediff('cast(stats.last_purchase_at as date)', 'snapshot.as_of_date', 'day') }}
            as recency_days,
        stats.order_count,
        stats.monetary_gross - stats.returned_value as monetary_value,

        ---------- behaviour
        stats.monetary_gross,
        stats.returned_value,
        {{ dbt.datediff('cast(stats.first_purchase_at as date)', 'snapshot.as_of_date', 'day') }}
            as tenure_days,
        -- money is decimal: divide as doubles (Spark would keep a decimal of scale 6)
        cast(stats.monetary_gross as {{ type_double() }}) / stats.order_count as avg_order_value,
        stats.item_count / stats.order_count as items_per_order,
        stats.line_count,
        stats.distinct_products,
        stats.return_line_count,
        cast(stats.returned_value as {{ type_double() }})
        / cast(stats.monetary_gross as {{ type_double() }}) as return_rate,
        case
            when stats.order_count > 1
                then stats.purchase_span_days / cast(stats.order_count - 1 as {{ type_double() }})
        end as mean_days_between_orders,
        stats.country

    from stats
    cross join snapshot
    where stats.order_count is not null

)

select * from final
