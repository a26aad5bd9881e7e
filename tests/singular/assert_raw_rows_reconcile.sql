-- Every raw line is in exactly one of fct_transactions and fct_transaction_quarantine:
-- the counts add up, and no source_row_number is in both or in neither.
with

raw_lines as (

    select source_row_number from {{ ref('base_retail__transactions') }}

),

landed as (

    select source_row_number, 'clean' as place from {{ ref('fct_transactions') }}
    union all
    select source_row_number, 'quarantine' as place from {{ ref('fct_transaction_quarantine') }}

),

per_line as (

    select
        raw_lines.source_row_number,
        count(landed.place) as times_landed
    from raw_lines
    left join landed
        on raw_lines.source_row_number = landed.source_row_number
    group by raw_lines.source_row_number

),

totals as (

    select
        (select count(*) from raw_lines) as raw_count,
        (select count(*) from landed) as landed_count

)

select 'line landed ' || cast(times_landed as varchar) || ' times' as problem, source_row_number
from per_line
where times_landed <> 1
union all
select 'raw ' || cast(raw_count as varchar) || ' <> landed ' || cast(landed_count as varchar), null
from totals
where raw_count <> landed_count
