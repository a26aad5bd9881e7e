{#
    Every value of a kept customer-table row that lies outside its column's outlier bounds
    (outlier_rule, outlier_iqr_factor): the row, the column, the value, the bounds, and whether
    it was clipped (its value in dim_customer_attributes is clipped_value) or its row quarantined.
#}
{{ config(enabled=input_kind() == 'customers') }}

select
    cast(source_row_number as bigint) as source_row_number,
    customer_id,
    column_name,
    original_value,
    lower_bound,
    upper_bound,
    clipped_value,
    action
from {{ ref('int_customer_table__outliers') }}
