{#
    One row per raw line of this build's batch: the files transactions_path names that are not
    loaded yet (macros/ingest/batches.sql), with their batch, file and load time, columns renamed
    to canonical names and left as read (text for CSV/XLSX, native types for Parquet). The file, its format
    and its column spellings are resolved by transactions_source(), which stops the build with a
    clear message when the input is unusable.
#}
{{ config(enabled=input_kind() == 'transactions') }}

{%- set src = transactions_source() -%}
{%- set plan = batch_plan(src, loaded_batches()) if src is not none else none -%}

with

source as (

    {% if src is none -%}
    select 1 as source_row_number, 1 as batch_id, '' as source_file, '' as file_fingerprint,
        current_timestamp as loaded_at, 1 as placeholder
    {%- else -%}
    select
        -- the line's row in its file, 1-based (with source_file, its provenance)
        {{ row_in_file_sql(src, plan) }} as source_row_number,
        -- the batch of each file (macros/ingest/batches.sql); files already loaded are left out
        {{ batch_column_sql(plan, 'batch_of') }} as batch_id,
        {{ batch_column_sql(plan, 'file_of') }} as source_file,
        {{ batch_column_sql(plan, 'fingerprint_of') }} as file_fingerprint,
        {{ batch_column_sql(plan, 'loaded_at_of') }} as loaded_at,
        *
    from {{ src['reader_sql'] }}
    where file_index in ({{ (plan['selected'] or [-1]) | join(', ') }})
    {%- endif %}

),

renamed as (

    select
        source_row_number,
        batch_id,
        source_file,
        file_fingerprint,
        loaded_at,

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
