{{ config(enabled=input_kind() == 'transactions') }}
-- Every raw line of this build's batch is in exactly one of fct_transactions and
-- fct_transaction_quarantine, once. The batch is what the staging view reads (the files this
-- build loaded); the marts are compared on the batches it holds. Earlier batches were proven
-- when they were loaded; marts.fct_batches reconciles every batch's counts.
--
-- Line numbers are grouped in blocks of 62 (block = n div 62, bit = n mod 62). Per block and
-- per place (input, clean, quarantine) one aggregate gives the number of lines and the OR of
-- their bits. A place holds each of its numbers once exactly when its count equals the number
-- of bits set; the block reconciles when, in addition, the clean and quarantine bits are
-- disjoint and together are the input bits. That is the line-by-line proof with 62 times fewer
-- groups than grouping by line (at 100M lines: 1.6M groups instead of 100M, ~65 s -> a few s),
-- and it proves the marts' line numbers unique, so they carry no separate unique tests.
--
-- Only blocks that do not reconcile are then expanded line by line, so a failure names each
-- wrong line: missing from both marts, in both, repeated, or unknown to the input.
{%- set block_size = 62 %}
with

input_lines as (

    select
        source_file,
        source_row_number,
        batch_id
    from {{ ref('base_retail__transactions') }}

),

batches as (

    select distinct batch_id from input_lines

),

files as (

    -- a line is (file, row in file); numbered files make it one integer per line
    select
        source_file,
        row_number() over (order by source_file) * {{ 2 ** 40 }} as file_offset
    from (select distinct source_file from input_lines) as distinct_files

),

tagged as {{ inline_cte() }} (

    select
        coalesce(files.file_offset, 0) + lines.source_row_number as line_key,
        lines.tag
    from (
        select
            source_file,
            source_row_number,
            cast(1 as {{ dbt.type_int() }}) as tag
        from input_lines
        union all
        select
            source_file,
            source_row_number,
            cast(2 as {{ dbt.type_int() }}) as tag
        from {{ ref('fct_transactions') }}
        where batch_id in (select batches.batch_id from batches)
        union all
        select
            source_file,
            source_row_number,
            cast(4 as {{ dbt.type_int() }}) as tag
        from {{ ref('fct_transaction_quarantine') }}
        where batch_id in (select batches.batch_id from batches)
    ) as lines
    left join files
        on lines.source_file = files.source_file

),

per_block as (

    select
        block,
        -- noqa: disable=LT02
        {%- for place, tag in [('input', 1), ('clean', 2), ('quarantine', 4)] %}
        sum(case when tag = {{ tag }} then 1 else 0 end) as {{ place }}_count,
        coalesce({{ bit_or_agg('case when tag = ' ~ tag ~ ' then bit end') }}, 0) as {{ place }}_bits
        {{- ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from (
        select
            tag,
            {{ int_div('line_key', block_size) }} as block,
            {{ bit_flag('mod(line_key, ' ~ block_size ~ ')') }} as bit
        from tagged
    ) as lines
    group by block

),

broken_blocks as (

    select block
    from per_block
    where
        input_count <> {{ bit_count('input_bits') }}
        or clean_count <> {{ bit_count('clean_bits') }}
        or quarantine_count <> {{ bit_count('quarantine_bits') }}
        or (clean_bits & quarantine_bits) <> 0
        or (clean_bits | quarantine_bits) <> input_bits

),

per_line as (

    select
        line_key,
        count(*) as occurrences,
        {{ bit_or_agg('tag') }} as tags
    from tagged
    where {{ int_div('line_key', block_size) }} in (select broken_blocks.block from broken_blocks)
    group by line_key

)

select
    case
        when per_line.tags = 1 then 'line is in neither mart'
        when per_line.tags in (2, 4, 6) then 'line is not in the input'
        when per_line.tags = 7 then 'line is in both marts'
        else 'line is ' || cast(per_line.occurrences as {{ dbt.type_string() }}) || ' times in input and marts'
    end as problem,
    files.source_file,
    per_line.line_key - coalesce(files.file_offset, 0) as source_row_number
from per_line
left join files
    on {{ int_div('per_line.line_key', 2 ** 40) }} * {{ 2 ** 40 }} = files.file_offset
where per_line.occurrences <> 2 or per_line.tags not in (3, 5)
