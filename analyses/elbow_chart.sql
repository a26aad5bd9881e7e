-- Data for the elbow chart: inertia and the validity indices per k, with the chosen k.
select
    k,
    inertia,
    silhouette,
    davies_bouldin,
    calinski_harabasz,
    is_elbow,
    is_chosen,
    selection_reason
from {{ ref('fct_segmentation_k_selection') }}
order by k
