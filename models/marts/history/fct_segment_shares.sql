{#
    Segment shares over time: per run, each segment's customers, share of the run's customers
    and net revenue. Appended per new run (from fct_customer_segment_history).
#}

{#- history is never rebuilt, not even by --full-refresh (drop the table to start it over) #}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail', full_refresh=false) }}

with

history as (

    select * from {{ ref('fct_customer_segment_history') }}
    {%- if is_incremental() %}
    where run_id > (select coalesce(max(shares.run_id), 0) from {{ this }} as shares)
    {%- endif %}

),

per_segment as (

    select
        run_id,
        as_of_date,
        model_version,
        segment_name,
        count(*) as customers,
        {{ sum_money('monetary_value') }} as revenue
    from history
    group by run_id, as_of_date, model_version, segment_name

),

final as (

    select
        cast(run_id as integer) as run_id,
        as_of_date,
        cast(model_version as integer) as model_version,
        segment_name,
        cast(customers as bigint) as customers,
        cast(customers as {{ type_double() }}) / sum(customers) over (partition by run_id) as customer_share,
        cast(revenue as {{ type_double() }}) as revenue
    from per_segment

)

select * from final
