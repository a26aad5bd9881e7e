{# The holdout confusion matrix, one row per (actual, predicted) segment pair. #}

with

confusion as (

    {{ ml_report(ref('ml_active_models'), 'classifier', 'confusion', [
        'actual_cluster_id', 'actual_segment', 'predicted_cluster_id', 'predicted_segment',
        'customer_count'
    ]) }}

),

final as (

    select
        cast(actual_cluster_id as integer) as actual_cluster_id,
        actual_segment,
        cast(predicted_cluster_id as integer) as predicted_cluster_id,
        predicted_segment,
        cast(customer_count as bigint) as customer_count
    from confusion

)

select * from final
