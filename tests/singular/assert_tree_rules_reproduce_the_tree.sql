-- The exported SQL case expression predicts exactly what the Python decision tree predicts.
-- depends_on: {{ ref('dim_classifier_tree_rules') }}
select
    customers.customer_id,
    {{ classifier_tree_case() }} as sql_cluster_id,
    scores.tree_cluster_id
from {{ ref('int_customers__segmentation_input') }} as customers
inner join {{ ref('ml_customer_scores') }} as scores
    on customers.customer_id = scores.customer_id
where ({{ classifier_tree_case() }}) is distinct from scores.tree_cluster_id
