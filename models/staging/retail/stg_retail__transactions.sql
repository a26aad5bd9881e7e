{#
    Typed, canonical transaction lines with row-level flags. No row is dropped here: every raw
    line appears once, and int_transactions__classified decides clean vs quarantine.

    Fallbacks for optional columns (documented in docs/transactions.md):
      - no invoice id: one order per customer per day (order_id = customer_id || '|' || date)
      - no quantity/unit price but a line amount: quantity = sign of the amount, price = |amount|
      - a line amount and a quantity but no unit price: price = |amount / quantity|
      - no line amount: line_amount = quantity * unit_price
      - no country: 'Unknown'

    Text dates are read with one family of formats for the whole file (transactions_date_formats()).
    Dates before var('min_valid_date') or after var('max_valid_date') (default: the day of the
    build) are flagged implausible: one line dated years ahead must not move everyone's recency.
#}
{{ config(enabled=input_kind() == 'transactions') }}


{%- set date_formats = transactions_date_formats() -%}
{%- set min_valid_date = date_var('min_valid_date') -%}
{%- set max_valid_date = date_var('max_valid_date') or 'current_date' -%}

with

raw_lines as (

    select * from {{ ref('base_retail__transactions') }}

),

non_product_codes as (

    select upper(stock_code) as stock_code from {{ ref('non_product_stock_codes') }}

),

id_texts as (

    -- identifiers as trimmed text, computed once and cleaned in the next step
    select
        *,
        {{ id_text('invoice_id_raw') }} as invoice_id_text,
        {{ id_text('stock_code_raw') }} as stock_code_text,
        {{ id_text('customer_id_raw') }} as customer_id_text
    from raw_lines

),

parsed as (

    select
        source_row_number,
        batch_id,
        source_file,
        file_fingerprint,
        loaded_at,
        {{ clean_id('invoice_id_text') }} as invoice_id,
        upper({{ clean_id('stock_code_text') }}) as stock_code,
        {{ clean_id('customer_id_text') }} as customer_id,
        {{ normalize_text('description_raw') }} as description,
        coalesce({{ normalize_text('country_raw') }}, 'Unknown') as country,
        {{ parse_number('quantity_raw') }} as quantity_parsed,
        {{ parse_number('unit_price_raw') }} as unit_price_parsed,
        {{ parse_number('line_amount_raw') }} as line_amount_parsed,
        {{ parse_timestamp('invoiced_at_raw', date_formats) }} as invoiced_at,
        -- which raw values were present but could not be parsed
        (quantity_raw is not null and {{ parse_number('quantity_raw') }} is null) as bad_quantity,
        (unit_price_raw is not null and {{ parse_number('unit_price_raw') }} is null) as bad_unit_price,
        (line_amount_raw is not null and {{ parse_number('line_amount_raw') }} is null) as bad_line_amount,
        -- the raw values as read (native types; the quarantine turns them into text)
        invoice_id_raw,
        customer_id_raw,
        quantity_raw,
        unit_price_raw,
        line_amount_raw,
        invoiced_at_raw
    from id_texts

),

amounts as (

    select
        *,
        coalesce(line_amount_parsed, quantity_parsed * unit_price_parsed) as line_amount,
        coalesce(
            quantity_parsed,
            case when line_amount_parsed < 0 then -1 when line_amount_parsed is not null then 1 end
        ) as quantity,
        coalesce(
            unit_price_parsed,
            case
                when quantity_parsed <> 0 then abs(line_amount_parsed / quantity_parsed)
                else abs(line_amount_parsed)
            end
        ) as unit_price
    from parsed

),

flagged as (

    select
        amounts.source_row_number,
        amounts.batch_id,
        amounts.source_file,
        amounts.file_fingerprint,
        amounts.loaded_at,

        ---------- keys
        amounts.invoice_id,
        coalesce(
            amounts.invoice_id,
            amounts.customer_id || '|' || cast(cast(amounts.invoiced_at as date) as {{ dbt.type_string() }})
        ) as order_id,
        amounts.customer_id,
        amounts.stock_code,

        ---------- attributes
        amounts.description,
        amounts.country,

        ---------- measures
        amounts.quantity,
        amounts.unit_price,
        amounts.line_amount,

        ---------- timestamps
        amounts.invoiced_at,
        cast(amounts.invoiced_at as date) as invoice_date,

        ---------- flags
        (
            amounts.invoiced_at is null
            or amounts.line_amount is null
            or amounts.bad_quantity
            or amounts.bad_unit_price
            or amounts.bad_line_amount
        ) as is_unparseable,
        (
            {{ is_out_of_range('amounts.quantity_parsed') }}
            or {{ is_out_of_range('amounts.unit_price_parsed') }}
            or {{ is_out_of_range('amounts.line_amount_parsed') }}
            or {{ is_out_of_range('amounts.line_amount') }}
        ) as is_out_of_range,
        coalesce(
            {% if min_valid_date %}amounts.invoiced_at < {{ min_valid_date }} or {% endif -%}
            cast(amounts.invoiced_at as date) > {{ max_valid_date }},
            false
        ) as is_implausible_date,
        (amounts.customer_id is null) as is_guest,
        case
            when amounts.invoice_id is not null then upper(amounts.invoice_id) like 'C%'
            else coalesce(amounts.quantity < 0, false)
        end as is_cancellation,
        (
            non_product_codes.stock_code is not null
            or upper(coalesce(amounts.invoice_id, '')) like 'A%'
            or upper(coalesce(amounts.invoice_id, '')) like 'B%'
        ) as is_non_product,

        ---------- raw values
        amounts.invoice_id_raw,
        amounts.customer_id_raw,
        amounts.quantity_raw,
        amounts.unit_price_raw,
        amounts.line_amount_raw,
        amounts.invoiced_at_raw

    from amounts
    left join non_product_codes
        on amounts.stock_code = non_product_codes.stock_code

)

select * from flagged
