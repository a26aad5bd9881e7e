{#
    The explainable decision tree: one rule per leaf (readable path and SQL condition), the
    segment it predicts and how many training customers reached it; tree_case_sql holds the whole
    tree as one SQL case expression (macro classifier_tree_case inlines it).
#}

with

rules as (

    {{ ml_report(ref('ml_active_models'), 'classifier_tree', 'tree_rules', [
        'rule_id', 'conditions', 'sql_condition', 'cluster_id', 'segment_name', 'training_samples',
        'purity', 'tree_case_sql'
    ]) }}

),

final as (

    select
        cast(rule_id as integer) as rule_id,
        conditions,
        sql_condition,
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        cast(training_samples as bigint) as training_samples,
        cast(purity as {{ type_double() }}) as purity,
        tree_case_sql
    from rules

)

select * from final
