{# The classification report on the holdout split: precision, recall, F1 and support per segment. #}

with

report as (

    {{ ml_report(ref('ml_active_models'), 'classifier', 'report', [
        'cluster_id', 'segment_name', 'precision', 'recall', 'f1', 'support'
    ]) }}

),

final as (

    select
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        cast(precision as {{ type_double() }}) as precision,
        cast(recall as {{ type_double() }}) as recall,
        cast(f1 as {{ type_double() }}) as f1,
        cast(support as bigint) as support
    from report

)

select * from final
