{#
    One row per raw line of the configured transactions file(s), columns renamed to canonical
    names and left as read (text for CSV/XLSX, native types for Parquet). The file, its format
    and its column spellings are resolved by transactions_source(), which stops the build with a
    clear message when the input is unusable.
#}
{%- set src = transactions_source() -%}

with

source as (

    select
        -- position of the line in the input (files in name order), 1-based
        {{ src['row_number_sql'] if src is not none else 'row_number() over ()' }} as source_row_number,
        *
    from {{ src['reader_sql'] if src is not none else '(select 1 as placeholder)' }}

),

renamed as (

    select
        source_row_number,

        ---------- identifiers
        {{ transactions_column(src, 'invoice_id') }} as invoice_id_raw,
        {{ transactions_column(src, 'stock_code') }} as stock_code_raw,
        {{ transactions_column(src, 'customer_id') }} as customer_id_raw,

        ---------- text
        {{ transactions_column(src, 'description') }} as description_raw,
        {{ transactions_column(src, 'country') }} as country_raw,

        ---------- numerics
        {{ transactions_column(src, 'quantity') }} as quantity_raw,
        {{ transactions_column(src, 'unit_price') }} as unit_price_raw,
        {{ transactions_column(src, 'line_amount') }} as line_amount_raw,

        ---------- timestamps
        {{ transactions_column(src, 'invoiced_at') }} as invoiced_at_raw

    from source

)

select * from renamed
