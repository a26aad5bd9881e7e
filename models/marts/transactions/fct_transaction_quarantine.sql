{#
    Every raw line that is not in fct_transactions, with the reason it was set aside and the
    raw values as read, so it can be traced back to the file (source_row_number) and fixed.
    Cancellations land here too, and still feed the customers' return features.
#}

{{ config(enabled=input_kind() == 'transactions', materialized="view") }}

with

classified as (

    select * from {{ ref('int_transactions__classified') }}

),

final as (

    select
        batch_id,
        source_row_number,
        source_file,
        quarantine_reason,
        coalesce(invoice_id, order_id_fallback) as order_id,
        invoice_id,
        customer_id,
        stock_code,
        description,
        country,
        cast(quantity as {{ type_double() }}) as quantity,
        cast(unit_price as {{ type_double() }}) as unit_price,
        cast(line_amount as {{ type_double() }}) as line_amount,
        invoiced_at,
        is_cancellation,
        is_guest,
        is_non_product,
        (copy_number > 1) as is_duplicate,
        is_unparseable,
        cast(invoice_id_raw as {{ dbt.type_string() }}) as invoice_id_raw,
        cast(customer_id_raw as {{ dbt.type_string() }}) as customer_id_raw,
        cast(quantity_raw as {{ dbt.type_string() }}) as quantity_raw,
        cast(unit_price_raw as {{ dbt.type_string() }}) as unit_price_raw,
        cast(line_amount_raw as {{ dbt.type_string() }}) as line_amount_raw,
        cast(invoiced_at_raw as {{ dbt.type_string() }}) as invoiced_at_raw
    from classified
    where quarantine_reason is not null

)

select * from final
