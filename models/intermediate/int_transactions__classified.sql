{#
    Every transaction line with its duplicate rank and the one reason (if any) that keeps it out
    of the clean data. Reasons are checked in the priority order of the quarantine_reasons seed;
    the first that applies wins, and the flags keep the full picture.
#}

with

transactions as (

    select * from {{ ref('stg_retail__transactions') }}

),

ranked as (

    select
        *,
        -- copies of a line share every source value; which copy ranks 1 cannot matter
        row_number() over (
            partition by
                invoice_id_raw, order_id, stock_code, description, customer_id_raw, country,
                quantity_raw, unit_price_raw, line_amount_raw, invoiced_at_raw
            order by source_row_number
        ) as copy_number
    from transactions

),

classified as (

    select
        *,
        (copy_number > 1) as is_duplicate,
        case
            when is_unparseable then 'unparseable_value'
            when is_guest then 'null_customer'
            when copy_number > 1 then 'exact_duplicate'
            when is_cancellation then 'cancellation'
            when is_non_product then 'non_product_line'
            when quantity <= 0 then 'non_positive_quantity'
            when unit_price <= 0 then 'non_positive_price'
        end as quarantine_reason
    from ranked

)

select * from classified
