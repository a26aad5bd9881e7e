{# Feature importances of the classifier (impurity-based, or permutation for gradient boosting). #}

with

importances as (

    select * from {{ ref('cls_importances') }}

),

final as (

    select
        feature,
        cast(importance as {{ type_double() }}) as importance,
        method,
        cast(rank as integer) as importance_rank
    from importances

)

select * from final
