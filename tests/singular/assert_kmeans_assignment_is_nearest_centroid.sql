-- With KMeans and Ward (agglomerative), the model assigns each customer to the nearest centroid,
-- so SQL scoring reproduces it exactly.
{{ config(enabled=var('segmentation_algorithm', 'kmeans') in ['kmeans', 'agglomerative']) }}
select
    segments.customer_id,
    segments.cluster_id,
    sql_scores.cluster_id as sql_cluster_id
from {{ ref('dim_customer_segments') }} as segments
left join {{ ref('fct_sql_centroid_scores') }} as sql_scores
    on segments.customer_id = sql_scores.customer_id
where sql_scores.cluster_id is distinct from segments.cluster_id
