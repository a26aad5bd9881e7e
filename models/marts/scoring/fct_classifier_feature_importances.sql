{# Feature importances of the classifier (impurity-based, or permutation for gradient boosting). #}

with

importances as (

    {{ ml_report(ref('ml_active_models'), 'classifier', 'importances', [
        'feature', 'importance', 'method', 'rank'
    ]) }}

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
