{#
    One row per customer with a clean purchase before the snapshot: the summary the value models
    (BG/NBD, Gamma-Gamma; custseg.value.btyd) read. Purchases are clean lines; the purchases of
    one day count once (a purchase day), valued at the sum of that day's lines; returns and
    quarantined lines are left out (as for RFM's purchases).
      frequency          repeat purchase days (purchase days after the first)
      recency_span_days  days from the first to the last purchase day (t_x)
      age_days           days from the first purchase day to the snapshot (T)
      mean_repeat_value  the mean value of the repeat purchase days (null without one)
    Snapshot: the customer features' (int_customers__features.as_of_date). Rebuilt every build (the
    incremental form, like int_customers__purchase_stats, is left to do).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

classified as (

    select * from {{ ref('int_transactions__classified') }}

),

clean as (

    select
        customer_id,
        cast(invoiced_at as date) as purchase_date,
        line_amount
    from classified
    where quarantine_reason is null

),

snapshot as (

    -- the customer features' snapshot, as they computed it (one value for every customer)
    select max(as_of_date) as as_of_date
    from {{ ref('int_customers__features') }}

),

purchase_days as (

    select
        clean.customer_id,
        clean.purchase_date,
        {{ sum_money('clean.line_amount') }} as day_value
    from clean
    cross join snapshot
    where clean.purchase_date < snapshot.as_of_date
    group by clean.customer_id, clean.purchase_date

),

numbered as (

    select
        customer_id,
        purchase_date,
        day_value,
        min(purchase_date) over (partition by customer_id) as first_purchase_date,
        row_number() over (partition by customer_id order by purchase_date) as purchase_number
    from purchase_days

),

final as (

    select
        numbered.customer_id,
        cast(count(*) - 1 as integer) as frequency,
        cast(
            {{ dbt.datediff('min(numbered.first_purchase_date)', 'max(numbered.purchase_date)', 'day') }}
            as integer
        ) as recency_span_days,
        cast(
            {{ dbt.datediff('min(numbered.first_purchase_date)', 'max(snapshot.as_of_date)', 'day') }}
            as integer
        ) as age_days,
        cast(
            {{ sum_money('case when numbered.purchase_number > 1 then numbered.day_value end') }}
            as {{ type_double() }}
        ) / nullif(count(*) - 1, 0) as mean_repeat_value,
        min(numbered.first_purchase_date) as first_purchase_date,
        max(numbered.purchase_date) as last_purchase_date,
        max(snapshot.as_of_date) as as_of_date
    from numbered
    cross join snapshot
    group by numbered.customer_id

)

select * from final
