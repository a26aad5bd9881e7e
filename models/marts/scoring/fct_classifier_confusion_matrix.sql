{# The holdout confusion matrix, one row per (actual, predicted) segment pair. #}

with

confusion as (

    select * from {{ ref('cls_confusion') }}

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
