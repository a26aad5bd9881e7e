{#
    With clv_calibration_end: per segment (the customers' segment at the snapshot), with the
    chosen purchase model, the calibration customers, the share the model expected to buy in the holdout (mean probability
    of a purchase in it) and the share who did, and the holdout revenue it predicted against the
    revenue that came (net of refunds). No rows without a calibration end.
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

customers as (

    select * from {{ ref('fct_clv_backtest_customers') }}

),

final as (

    select
        cluster_id,
        max(segment_name) as segment_name,
        cast(count(*) as bigint) as customers,
        cast({{ mean_exact('p_holdout_purchase') }} as {{ type_double() }}) as predicted_buyer_share,
        cast(sum(case when bought_in_holdout then 1 else 0 end) as {{ type_double() }}) / count(*)
            as actual_buyer_share,
        {{ sum_exact('predicted_holdout_revenue') }} as predicted_holdout_revenue,
        cast({{ sum_money('actual_holdout_revenue') }} as {{ type_double() }}) as actual_holdout_revenue
    from customers
    where is_chosen
    group by cluster_id

)

select * from final
