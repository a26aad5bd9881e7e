{#
    One row per customer and purchase day: the day's purchases net of the refunds that cancel
    them (clv_returns: net, the default; docs/value.md "Net value"). The value models read these.

    A refund is a cancellation line (quarantine reason cancellation: Online Retail's C invoices,
    a negative quantity without an invoice id). It cancels the same customer's earlier clean
    purchase lines of the same product (stock code; without one, any of his earlier purchases),
    the latest first (last in, first out), in money: the refunded amount is taken from the most
    recent purchase line before it, then the one before, up to each line's amount. A refund, or
    the part of one, larger than what the customer bought of that product before it has no
    purchase to cancel and changes nothing (its purchase predates the data).

    Last in, first out as window functions, per customer and product with events in time order
    (purchases before refunds of the same moment): S = the running sum of purchases minus
    refunds; a refund with nothing left to cancel is dropped, so the amount still held is S
    lifted by the lowest S so far (held = S - min(0, min S so far)); a purchase line is
    cancelled down to the lowest level held reaches from it on, so its refunded amount is
    min(its amount, held at it - the lowest held from it on).

    Two readings: net_value subtracts the refunds dated before the snapshot (the value models'
    snapshot summary and the holdout), net_value_at_calibration_end those dated on or before
    clv_calibration_end (the calibration summary: a backtest must not know of refunds made
    after its calibration end). gross_value is the day's clean lines before any refund.

    Rebuilt every build over the customer-product pairs with a refund (the purchase days
    themselves are kept incrementally: int_customers__purchase_days).
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set calibration_end = date_var('clv_calibration_end') %}
{%- set net = clv_returns() == 'net' %}

with

purchase_days as (

    select * from {{ ref('int_customers__purchase_days') }}

),

classified as {{ inline_cte() }} (

    select * from {{ ref('int_transactions__classified') }}

),

snapshot as (

    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

lines as {{ inline_cte() }} (

    -- clean purchase lines and refund lines, each with its product key and money amount
    select
        classified.customer_id,
        coalesce(classified.stock_code, '') as product_key,
        classified.invoiced_at,
        cast(classified.invoiced_at as date) as line_date,
        case when classified.quarantine_reason = 'cancellation' then 1 else 0 end as is_refund,
        abs(cast(classified.line_amount as decimal(38, 6))) as amount,
        classified.batch_id,
        classified.source_file,
        classified.source_row_number
    from classified
    where
        {{ 'true' if net else 'false' }}
        and (classified.quarantine_reason is null or classified.quarantine_reason = 'cancellation')
        and classified.customer_id is not null

),

refunded_products as (

    select distinct
        customer_id,
        product_key
    from lines
    where is_refund = 1

),

events as (

    -- the lines of the customer-product pairs with a refund, each with the snapshot
    select
        lines.*,
        snapshot.as_of_date
    from lines
    inner join refunded_products
        on lines.customer_id = refunded_products.customer_id
        and lines.product_key = refunded_products.product_key
    cross join snapshot

),

snapshot_refunds as (

    {{ refunds_by_purchase_day('events', 'as_of_date') }}

),
{%- if calibration_end %}

calibration_refunds as (

    {{ refunds_by_purchase_day('events', dbt.dateadd('day', 1, calibration_end)) }}

),
{%- endif %}

final as (

    select
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.day_value as gross_value,
        cast(purchase_days.day_value - coalesce(snapshot_refunds.refunded_value, 0) as decimal(38, 6))
            as net_value,
        {%- if calibration_end %}
        cast(purchase_days.day_value - coalesce(calibration_refunds.refunded_value, 0) as decimal(38, 6))
            as net_value_at_calibration_end
        {%- else %}
        cast(null as decimal(38, 6)) as net_value_at_calibration_end
        {%- endif %}
    from purchase_days
    left join snapshot_refunds
        on purchase_days.customer_id = snapshot_refunds.customer_id
        and purchase_days.purchase_date = snapshot_refunds.purchase_date
    {%- if calibration_end %}
    left join calibration_refunds
        on purchase_days.customer_id = calibration_refunds.customer_id
        and purchase_days.purchase_date = calibration_refunds.purchase_date
    {%- endif %}

)

select * from final
