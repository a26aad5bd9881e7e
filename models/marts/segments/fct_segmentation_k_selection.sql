{# The k sweep for charts: one row per k with every index, the elbow and the chosen k. #}

with

sweep as (

    select * from {{ ref('seg_k_selection') }}

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
        is_elbow,
        is_chosen,
        selection_reason
    from sweep

)

select * from final
