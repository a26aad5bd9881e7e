{#
    Every raw row of the customer table with its id check: a row without an id is quarantined as
    null_customer_id; of rows that share an id, the first in the file is kept and each later one
    is quarantined as duplicate_customer_id (which copy to keep cannot be told from the data; the
    file order is the one deterministic rule, and marts.fct_customer_table_quarantine lists the
    copies so they can be fixed at the source). Outliers are judged later, on the kept rows.
#}
{{ config(enabled=input_kind() == 'customers') }}

with

rows_ as (

    select * from {{ ref('stg_customer_table__customers') }}

),

ranked as (

    select
        *,
        row_number() over (partition by customer_id order by source_row_number) as id_occurrence
    from rows_

),

final as (

    select
        *,
        case
            when customer_id is null then 'null_customer_id'
            when id_occurrence > 1 then 'duplicate_customer_id'
        end as quarantine_reason
    from ranked

)

select * from final
