{#
    Every transaction line with its copy number among exact duplicates and the one reason (if
    any) that keeps it out of the clean data. Reasons are checked in the order of the macro
    quarantine_rules() (tested equal to the priorities of the seed quarantine_reasons); the first
    that applies wins, and the flags keep the full picture.

    The line store: each build appends its batch (the files not loaded yet; staging reads only
    those, macros/ingest/batches.sql) in one insert, so a batch is either wholly in or not at all,
    and every line keeps its batch_id, source_file, file_fingerprint and loaded_at. A line of a new
    batch that repeats a line of an earlier batch (same invoice and the same parsed values) is its
    next copy: the copies already stored are counted, found through the batch's invoice ids (one
    scan of one column of the store, not of its lines).

    This is the one stored row-level table: fct_transactions and fct_transaction_quarantine are
    views over it. The raw values as read are kept for quarantined lines only (clean lines have
    their parsed values; storing both would double the write for nothing).

    Exact duplicates are lines whose raw values, as read, are all equal and that carry an invoice
    id: without one, two equal lines are indistinguishable from a customer buying the same thing
    twice on one day (files such as CDNOW have no ids), so they are both kept. They are found in two
    steps so the cost stays near one scan: a hash of the raw values picks the lines that might
    have a copy (one aggregate over one column), and only those are compared on the values
    themselves and numbered in file order. Both steps read the raw lines (base model), not the
    parsed ones: the parsing is paid once, in the final pass.

    The input models are referenced directly in each step, not through import CTEs: DuckDB
    materialises a CTE that is used more than once, which at 100M lines means holding every
    parsed line in memory (and spilling) before the first step can start.

    Stored narrow, because writing is the largest cost at scale: what is cheap to derive is
    derived in the views over it (order_id = coalesce(invoice_id, order_id_fallback), the latter
    stored only for files without invoice ids; invoice_date; is_duplicate = copy_number > 1).
#}

{{ config(
    enabled=input_kind() == 'transactions',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

-- the skipped-file list is computed from the store as it was before this build's batch
-- depends_on: {{ ref('int_transactions__skipped_files') }}

{%- set line_values = [
    'invoice_id_raw', 'stock_code_raw', 'description_raw', 'customer_id_raw', 'country_raw',
    'quantity_raw', 'unit_price_raw', 'line_amount_raw', 'invoiced_at_raw'
] %}

with

repeated_hashes as (

    select hashed.line_hash
    from (
        select {{ row_hash(line_values) }} as line_hash
        from {{ ref('base_retail__transactions') }}
        where invoice_id_raw is not null
    ) as hashed
    group by hashed.line_hash
    having count(*) > 1

),

copies as (

    -- copies of a line share every raw value; which copy ranks 1 cannot matter
    select
        source_file,
        source_row_number,
        row_number() over (
            partition by {{ line_values | join(', ') }}
            order by source_file, source_row_number
        ) as copy_number
    from {{ ref('base_retail__transactions') }}
    where
        invoice_id_raw is not null
        and {{ row_hash(line_values) }} in (select repeated_hashes.line_hash from repeated_hashes)

),

{%- set stored_values = ['invoice_id', 'stock_code', 'description', 'customer_id', 'country',
                         'quantity', 'unit_price', 'line_amount', 'invoiced_at'] %}
{%- if is_incremental() %}

stored_copies as (

    -- copies of the batch's lines already in the store (earlier batches)
    select {{ stored_values | join(', ') }}, count(*) as stored_count
    from {{ this }}
    where invoice_id in (
        select batch.invoice_id
        from {{ ref('stg_retail__transactions') }} as batch
        where batch.invoice_id is not null
    )
    group by {{ stored_values | join(', ') }}

),
{%- endif %}

numbered as (

    select
        transactions.*,
        -- one type whichever the build: Spark's row_number() is an int and its count(*) a bigint,
        -- and the store refuses a column whose type changes (on_schema_change fail)
        cast(
            coalesce(copies.copy_number, 1)
            {%- if is_incremental() %} + coalesce(stored_copies.stored_count, 0){% endif %}
            as {{ dbt.type_bigint() }}
        ) as copy_number
    from {{ ref('stg_retail__transactions') }} as transactions
    left join copies
        on transactions.source_row_number = copies.source_row_number
        and transactions.source_file = copies.source_file
    {%- if is_incremental() %}
    left join stored_copies
        on transactions.invoice_id = stored_copies.invoice_id
        -- noqa: disable=LT02
        {%- for column in stored_values[1:] %}
        and transactions.{{ column }} is not distinct from stored_copies.{{ column }}
        {%- endfor %}
    -- noqa: enable=LT02
    {%- endif %}

),

classified as (

    select
        *,
        case
            -- noqa: disable=LT02
            {%- for reason, condition in quarantine_rules() %}
            when {{ condition }} then {{ sql_string(reason) }}
            {%- endfor %}
            -- noqa: enable=LT02
        end as quarantine_reason
    from numbered

),

final as (

    select
        batch_id,
        source_row_number,
        source_file,
        file_fingerprint,
        loaded_at,
        invoice_id,
        case when invoice_id is null then order_id end as order_id_fallback,
        customer_id,
        stock_code,
        description,
        country,
        -- fixed types, whatever the file's: every batch appends to the same table
        cast(quantity as {{ type_double() }}) as quantity,
        cast(unit_price as {{ type_double() }}) as unit_price,
        cast(line_amount as {{ type_double() }}) as line_amount,
        cast(invoiced_at as {{ dbt.type_timestamp() }}) as invoiced_at,
        copy_number,
        is_unparseable,
        is_guest,
        is_cancellation,
        is_non_product,
        quarantine_reason,
        -- noqa: disable=LT02
        {%- for column in ['invoice_id_raw', 'customer_id_raw', 'quantity_raw', 'unit_price_raw',
                           'line_amount_raw', 'invoiced_at_raw'] %}
        case when quarantine_reason is not null then cast({{ column }} as {{ dbt.type_string() }}) end
            as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from classified

)

select * from final
