{#
    Every customer-table row that is not segmented, with why: null_customer_id,
    duplicate_customer_id (a later row with an id already seen; the first is kept) or outlier
    (outlier_rule: quarantine; marts.fct_customer_table_outliers says which columns).
    Raw rows = dim_customer_attributes + this table (tests/singular/assert_customer_rows_reconcile.sql).
#}
{{ config(enabled=input_kind() == 'customers') }}

with

classified as (

    select * from {{ ref('int_customer_table__classified') }}

),

outliers as (

    select * from {{ ref('int_customer_table__outliers') }}

),

by_id as (

    select
        source_row_number,
        customer_id,
        quarantine_reason
    from classified
    where quarantine_reason is not null

),

by_outlier as (

    select distinct
        source_row_number,
        customer_id,
        'outlier' as quarantine_reason
    from outliers
    where action = 'quarantined'

),

final as (

    select * from by_id
    union all
    select * from by_outlier

)

select
    cast(source_row_number as bigint) as source_row_number,
    customer_id,
    quarantine_reason
from final
