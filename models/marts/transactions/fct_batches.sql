{#
    The load ledger: one row per batch (a build that brought new files), derived from the line
    store, so the ledger and the lines cannot disagree: a batch is in the store in full or not at
    all (one insert), and a row here is added for every batch the store holds and the ledger not
    yet. Each build adds only its own batch's row (the store's rows of later batches).
    raw_line_count = clean_line_count + quarantined_line_count, batch by batch.
#}

{{ config(
    enabled=input_kind() == 'transactions',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with

lines as (

    select * from {{ ref('int_transactions__classified') }}
    {%- if is_incremental() %}
    where batch_id > (select coalesce(max(ledger.batch_id), 0) from {{ this }} as ledger)
    {%- endif %}

),

files as (

    select distinct
        batch_id,
        source_file,
        file_fingerprint
    from lines

),

per_file as (

    select
        batch_id,
        count(*) as source_file_count,
        {{ sorted_listagg('source_file', "'; '") }} as source_files,
        {{ dbt.hash(sorted_listagg('file_fingerprint', "','")) }} as content_fingerprint
    from files
    group by batch_id

),

per_batch as (

    select
        batch_id,
        min(loaded_at) as loaded_at,
        count(*) as raw_line_count,
        sum(case when quarantine_reason is null then 1 else 0 end) as clean_line_count,
        sum(case when quarantine_reason is not null then 1 else 0 end) as quarantined_line_count,
        min(case when quarantine_reason is null then invoiced_at end) as first_invoiced_at,
        max(case when quarantine_reason is null then invoiced_at end) as last_invoiced_at
    from lines
    group by batch_id

),

final as (

    select
        per_batch.batch_id,
        per_file.source_files,
        cast(per_file.source_file_count as integer) as source_file_count,
        per_file.content_fingerprint,
        cast(per_batch.raw_line_count as bigint) as raw_line_count,
        cast(per_batch.clean_line_count as bigint) as clean_line_count,
        cast(per_batch.quarantined_line_count as bigint) as quarantined_line_count,
        per_batch.first_invoiced_at,
        per_batch.last_invoiced_at,
        per_batch.loaded_at
    from per_batch
    inner join per_file
        on per_batch.batch_id = per_file.batch_id

)

select * from final
