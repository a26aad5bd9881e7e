{#
    How each way of scoring agrees with the segmentation model's own assignment (the segment
    every mart gives a customer), over every customer of the build: the model's own rule
    (KMeans and Ward: the nearest centroid; GMM: the highest posterior; Birch: the nearest
    subcluster centre; HDBSCAN: the nearest centre within its reach, else noise), the nearest centroid (the pure-SQL scorer
    fct_sql_centroid_scores, `custseg score` of a features file, the drift measures, the
    dashboard's score form), the classifier and the decision tree. For KMeans the nearest
    centroid is the model's rule (agreement 1); for GMM, Birch and HDBSCAN it is an
    approximation, and this table says how close.
#}

with

scores as (

    select * from {{ ref('ml_customer_scores') }}

),

active as (

    select algorithm
    from {{ ref('ml_active_models') }}
    where model_kind = 'segmentation'

),

own_rule as (

    -- the rule ml_customer_scores applied (one value per build)
    select max(scoring_rule) as model_rule
    from scores

),

rules as (

    select
        'nearest_centroid' as scoring_rule,
        count(*) as customers,
        sum(case when centroid_cluster_id = cluster_id then 1 else 0 end) as agreeing
    from scores
    union all
    select
        'classifier' as scoring_rule,
        count(*) as customers,
        sum(case when classifier_cluster_id = cluster_id then 1 else 0 end) as agreeing
    from scores
    union all
    select
        'classifier_tree' as scoring_rule,
        count(*) as customers,
        sum(case when tree_cluster_id = cluster_id then 1 else 0 end) as agreeing
    from scores

),

final as (

    select
        rules.scoring_rule,
        active.algorithm as model_algorithm,
        own_rule.model_rule,
        case
            when rules.scoring_rule <> 'nearest_centroid' then 'learned'
            when own_rule.model_rule = 'nearest_centroid' then 'exact'
            else 'approximation'
        end as rule_kind,
        cast(rules.customers as bigint) as customers,
        cast(rules.agreeing as bigint) as agreeing_customers,
        cast(rules.agreeing as {{ type_double() }}) / nullif(rules.customers, 0) as agreement_rate
    from rules
    cross join active
    cross join own_rule

)

select * from final
