{#
    The classifier's quality: holdout accuracy and macro F1 (and split sizes), plus how often
    the classifier and the nearest centroid agree on customers first seen after the training
    cutoff (var training_cutoff_date).
#}

with

holdout as (

    {{ ml_report(ref('ml_active_models'), 'classifier', 'metrics', [
        'metric', 'value'
    ]) }}

),

scores as (

    select * from {{ ref('ml_customer_scores') }}

),

unseen as (

    select
        count(*) as unseen_customers,
        sum(case when classifier_cluster_id = centroid_cluster_id then 1 else 0 end) as agreeing
    from scores
    where not is_training_customer

),

final as (

    select metric, cast(value as {{ type_double() }}) as value
    from holdout
    union all
    select
        'unseen_customers' as metric,
        cast(unseen_customers as {{ type_double() }}) as value
    from unseen
    union all
    select
        'unseen_agreement_rate' as metric,
        case when unseen_customers > 0 then cast(agreeing as {{ type_double() }}) / unseen_customers end as value
    from unseen

)

select * from final
