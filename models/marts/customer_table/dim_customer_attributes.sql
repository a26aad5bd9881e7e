{#
    A customer table's customers as the model sees them: one row per kept customer with every
    typed column (numbers imputed and clipped, categorical nulls as '(missing)'), the engineered
    features and the one-hot columns. Its columns follow the input file, so it has no contract;
    the segments are in dim_customer_segments (join on customer_id).
#}
{{ config(enabled=input_kind() == 'customers') }}

select * from {{ ref('int_customer_table__features') }}
