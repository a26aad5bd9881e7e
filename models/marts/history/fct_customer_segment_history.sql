{#
    Segment history: one row per customer per run (a build whose customers or model changed),
    appended, never rewritten: the run's snapshot date, the latest batch loaded, the model
    version and the segment the customer had, with the model's default features (RFM).
    A build that changes nothing adds nothing.
#}

{#- history is never rebuilt, not even by --full-refresh (drop the table to start it over) #}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail', full_refresh=false) }}

with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

latest_run as (

    select
        registry.run_id,
        registry.model_version,
        registry.as_of_date
    from registry
    where
        {{ is_latest_run('registry') }}
    {%- if is_incremental() %}
        and registry.run_id > (select coalesce(max(history.run_id), 0) from {{ this }} as history)
        {%- endif %}

),

active_model as (

    select model_id from {{ ref('dim_segmentation_models') }}
    where is_active and model_kind = 'segmentation'

),

batches as (

    {%- if input_kind() == 'transactions' %}
    select max(batch_id) as batch_id from {{ ref('fct_batches') }}
    {%- else %}
    -- a customer table is one snapshot, not batches of lines
    select cast(null as integer) as batch_id
    {%- endif %}

),

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

final as (

    select
        segments.customer_id,
        cast(latest_run.run_id as integer) as run_id,
        cast(latest_run.as_of_date as date) as as_of_date,
        cast(batches.batch_id as integer) as batch_id,
        cast(latest_run.model_version as integer) as model_version,
        active_model.model_id,
        segments.cluster_id,
        segments.segment_name,
        segments.confidence,
        segments.recency_days,
        segments.order_count,
        segments.monetary_value
    from segments
    cross join latest_run
    cross join active_model
    cross join batches

)

select * from final
