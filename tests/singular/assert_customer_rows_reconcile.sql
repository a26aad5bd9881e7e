{{ config(enabled=input_kind() == 'customers') }}
-- Every raw row of the customer table is segmented (dim_customer_attributes) or quarantined
-- (fct_customer_table_quarantine), exactly once: returns the rows where that fails.
with

raw_rows as (

    select source_row_number from {{ ref('stg_customer_table__customers') }}

),

placed as (

    select source_row_number from {{ ref('dim_customer_attributes') }}
    union all
    select source_row_number from {{ ref('fct_customer_table_quarantine') }}

),

counted as (

    select
        raw_rows.source_row_number,
        count(placed.source_row_number) as times_placed
    from raw_rows
    left join placed
        on raw_rows.source_row_number = placed.source_row_number
    group by raw_rows.source_row_number

)

select * from counted
where times_placed <> 1
