{#
    The one customer table the ML layer reads (python_models/ read intermediate models only):
    one row per customer with customer_id and its numeric features. With transactions it is
    int_customers__rfm_scored (RFM and the engineered purchase features); with a customer table
    (var customers_path) it is int_customer_table__features (typed, imputed, clipped,
    engineered and one-hot columns). segmentation_features names the columns the model uses.
#}
{{ config(materialized='view', post_hook="{{ check_segmentation_input() }}") }}
-- the post-hook reads the raw lines by outcome when no customer is left
-- depends_on: {{ ref('int_input__outcomes') }}

{%- if input_kind() == 'customers' %}
select * from {{ ref('int_customer_table__features') }}
{%- else %}
select * from {{ ref('int_customers__rfm_scored') }}
{%- endif %}
