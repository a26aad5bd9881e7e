{#
    One row per segment of the active model: its business name, what it means and the action it
    calls for (the seed segment_names playbook for RFM names; a customer table's segments carry
    the model's own), the features that set it apart, its R/F/M position (scores in [0, 1]) and
    how many training customers it held when it was fitted.
#}

with

cluster_names as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'cluster_names', [
        'cluster_id', 'segment_name', 'description', 'recommended_action',
        'distinguishing_features', 'size', 'recency_score', 'frequency_score', 'monetary_score',
        'combined_score'
    ], carry=['model_version']) }}

),

playbook as (

    select * from {{ ref('segment_names') }}

),

final as (

    select
        cast(cluster_names.cluster_id as integer) as cluster_id,
        cluster_names.segment_name,
        coalesce(playbook.description, cluster_names.description) as description,
        coalesce(playbook.recommended_action, cluster_names.recommended_action) as recommended_action,
        cluster_names.distinguishing_features,
        cast(cluster_names.size as bigint) as training_customers,
        cast(cluster_names.recency_score as {{ type_double() }}) as recency_position,
        cast(cluster_names.frequency_score as {{ type_double() }}) as frequency_position,
        cast(cluster_names.monetary_score as {{ type_double() }}) as monetary_position,
        cast(cluster_names.combined_score as {{ type_double() }}) as combined_position,
        cast(cluster_names.model_version as integer) as model_version
    from cluster_names
    left join playbook
        on cluster_names.segment_name = playbook.segment_name

)

select * from final
