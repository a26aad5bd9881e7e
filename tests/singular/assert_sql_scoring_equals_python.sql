-- Pure-SQL nearest-centroid scoring gives the same segment as the Python model for every customer.
select
    customers.customer_id,
    sql_scores.cluster_id as sql_cluster_id,
    python_scores.centroid_cluster_id as python_cluster_id
from {{ ref('int_customers__segmentation_input') }} as customers
left join {{ ref('fct_sql_centroid_scores') }} as sql_scores
    on customers.customer_id = sql_scores.customer_id
left join {{ ref('ml_customer_scores') }} as python_scores
    on customers.customer_id = python_scores.customer_id
where sql_scores.cluster_id is distinct from python_scores.centroid_cluster_id
