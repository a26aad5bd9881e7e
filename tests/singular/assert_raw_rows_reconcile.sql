-- Every raw line is in exactly one of fct_transactions and fct_transaction_quarantine, once.
-- One pass over the line numbers: each is tagged 1 in the raw input, 2 in fct_transactions and
-- 4 in fct_transaction_quarantine. A line is right when it occurs exactly twice and its tags
-- combine to 1|2 or 1|4; anything else (missing, doubled, in both marts, unknown to the input)
-- is reported with the line. This also proves the marts' line numbers unique, so they carry no
-- separate unique tests. The per-line state is one count and one small bit mask, so the
-- aggregate over 100M lines stays small enough not to spill.
with

tagged as (

    select source_row_number, cast(1 as {{ dbt.type_int() }}) as tag
    from {{ ref('base_retail__transactions') }}
    union all
    select source_row_number, cast(2 as {{ dbt.type_int() }}) as tag
    from {{ ref('fct_transactions') }}
    union all
    select source_row_number, cast(4 as {{ dbt.type_int() }}) as tag
    from {{ ref('fct_transaction_quarantine') }}

),

per_line as (

    select
        source_row_number,
        count(*) as occurrences,
        {{ bit_or_agg('tag') }} as tags
    from tagged
    group by source_row_number

)

select
    case
        when tags = 1 then 'line is in neither mart'
        when tags in (2, 4, 6) then 'line is not in the input'
        when tags = 7 then 'line is in both marts'
        else 'line is ' || cast(occurrences as {{ dbt.type_string() }}) || ' times in input and marts'
    end as problem,
    source_row_number
from per_line
where occurrences <> 2 or tags not in (3, 5)
