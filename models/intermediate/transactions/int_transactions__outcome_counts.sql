{#
    The load's accounting kept per batch: one row per batch, outcome ('clean' or the quarantine
    reason) and customer, with the number of lines. fct_ingestion_summary and int_input__outcomes
    sum it instead of reading the line store: a weekly build counts its own batch's lines once
    (append; a full build or --full-refresh counts every stored batch). The sums are what a count
    over the whole store gives: the store is append-only and a line's outcome never changes.

    Lines without a customer id count under customer_key '' (staging turns a blank id into null,
    so no customer id is ever ''); customer_id stays null for them.
#}
{{ config(
    enabled=input_kind() == 'transactions',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

with

classified as {{ inline_cte() }} (

    select * from {{ ref('int_transactions__classified') }}
    {%- if is_incremental() %}
    where batch_id > (select coalesce(max(counted.batch_id), 0) from {{ this }} as counted)
    {%- endif %}

),

final as (

    select
        batch_id,
        coalesce(quarantine_reason, 'clean') as outcome,
        coalesce(customer_id, '') as customer_key,
        customer_id,
        cast(count(*) as bigint) as row_count
    from classified
    group by batch_id, coalesce(quarantine_reason, 'clean'), customer_id

)

select * from final
