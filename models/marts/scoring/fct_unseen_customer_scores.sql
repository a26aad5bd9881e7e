{#
    Customers first seen on or after var training_cutoff_date (not used to fit): the segment the
    classifier gives them and the one the nearest centroid gives them, and whether they agree.
    Empty when no cutoff is set.
#}

with

scores as (

    select * from {{ ref('ml_customer_scores') }}

),

final as (

    select
        customer_id,
        cast(classifier_cluster_id as integer) as classifier_cluster_id,
        classifier_segment,
        cast(classifier_confidence as {{ type_double() }}) as classifier_confidence,
        cast(centroid_cluster_id as integer) as centroid_cluster_id,
        centroid_segment,
        cast(centroid_distance as {{ type_double() }}) as centroid_distance,
        (classifier_cluster_id = centroid_cluster_id) as assignments_agree
    from scores
    where not is_training_customer

)

select * from final
