{#
    One row per customer and purchase day: the value models' purchases. A purchase day is a day
    with a clean line (returns and quarantined lines are left out, as for RFM's purchases),
    valued at the exact sum of that day's lines. Every stored day, whatever the snapshot: the
    models that read it keep the days before theirs (macro btyd_summary).

    Kept incrementally on DuckDB, so a weekly batch pays for its own lines: a build adds the
    clean lines of the batches loaded after this table's last build (batch_id >
    through_batch_id) to the days they fall on (a day already stored gets their sum added; the
    sums are exact decimals, so the result is what a full recomputation gives: the line store
    is append-only and a line's outcome never changes). On Spark, a table rebuilt every build.
#}
{{ config(
    enabled=input_kind() == 'transactions',
    materialized=upsert_materialization(),
    incremental_strategy='delete+insert',
    unique_key=['customer_id', 'purchase_date'],
    on_schema_change='fail',
) }}

{#- batches are numbered from 1: a full build reads every batch -#}
{%- set loaded_through = '0' -%}
{%- if is_incremental() -%}
    {%- set loaded_through = '(select coalesce(max(stored.through_batch_id), 0) from stored)' -%}
{%- endif %}

with

classified as {{ inline_cte() }} (

    select * from {{ ref('int_transactions__classified') }}

),

{% if is_incremental() -%}
stored as (

    select * from {{ this }}

),

{%- endif %}

clean as {{ inline_cte() }} (

    select
        classified.customer_id,
        classified.batch_id,
        classified.line_amount,
        cast(classified.invoiced_at as date) as purchase_date
    from classified
    where
        classified.quarantine_reason is null
        and classified.batch_id > {{ loaded_through }}

),

added as (

    select
        customer_id,
        purchase_date,
        {{ sum_money('line_amount') }} as day_value,
        max(batch_id) as through_batch_id
    from clean
    group by customer_id, purchase_date

),

final as (

    select
        added.customer_id,
        added.purchase_date,
        {%- if is_incremental() %}
        cast(coalesce(stored.day_value, 0) + added.day_value as decimal(38, 6)) as day_value,
        {%- else %}
        cast(added.day_value as decimal(38, 6)) as day_value,
        {%- endif %}
        added.through_batch_id
    from added
    {%- if is_incremental() %}
    left join stored
        on added.customer_id = stored.customer_id and added.purchase_date = stored.purchase_date
    {%- endif %}

)

select * from final
