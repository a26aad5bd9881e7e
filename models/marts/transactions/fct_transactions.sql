{#
    Clean purchase lines: parsed, attributed to a customer, not duplicated, not cancelled, a
    real product with positive quantity and price. One row per raw line kept.
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
        file_fingerprint,
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
        cast(invoiced_at as date) as invoice_date
    from classified
    where quarantine_reason is null

)

select * from final
