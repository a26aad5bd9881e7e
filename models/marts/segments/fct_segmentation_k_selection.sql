{# The k sweep for charts: one row per k with every index, the elbow and the chosen k. #}

with

sweep as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'k_selection', [
        'k', 'algorithm', 'clusters_found', 'inertia', 'silhouette', 'davies_bouldin',
        'calinski_harabasz', 'silhouette_sample_size', 'fit_rows', 'is_elbow', 'is_chosen',
        'selection_reason'
    ]) }}

),

final as (

    select
        cast(k as integer) as k,
        algorithm,
        cast(clusters_found as integer) as clusters_found,
        cast(inertia as {{ type_double() }}) as inertia,
        cast(silhouette as {{ type_double() }}) as silhouette,
        cast(davies_bouldin as {{ type_double() }}) as davies_bouldin,
        cast(calinski_harabasz as {{ type_double() }}) as calinski_harabasz,
        cast(silhouette_sample_size as bigint) as silhouette_sample_size,
        cast(fit_rows as bigint) as fit_rows,
        cast(is_elbow as boolean) as is_elbow,
        cast(is_chosen as boolean) as is_chosen,
        selection_reason
    from sweep

)

select * from final
