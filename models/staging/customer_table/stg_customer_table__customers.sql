{#
    The customer table, one row per raw row: its row number in the file, the id as trimmed text,
    and every column typed as the probe read it (numeric, boolean 0/1, date, categorical text;
    empty and ignored columns are left out). For each typed column that is not text, a flag
    unreadable__<column> = 1 where the cell held a value that could not be read as that kind
    (the cell is null here and imputed later; marts.fct_customer_table_columns counts them).
#}
{{ config(enabled=input_kind() == 'customers') }}

{%- set src = customer_table_source() %}

{%- if src is none %}
select 1 as source_row_number, cast(null as {{ dbt.type_string() }}) as customer_id
{%- else %}

with

source as (

    select * from {{ src['reader_sql'] }}

),

numbered as (

    select
        row_number() over () as source_row_number,
        *
    from source

),

{#-
    Each column typed in one projection, the raw text carried beside it, and the unreadable flags
    from both in the next: no expression repeats within a projection, which DuckDB's
    common-subexpression pass otherwise compares pairwise (at 400 columns it took 1.7 of the
    2.2 s that planning this view cost, and every model reading the view plans it again).
-#}
{%- set flagged = customer_columns(src, ['numeric', 'boolean', 'date']) %}
typed as (

    select
        cast(source_row_number as bigint) as source_row_number,
        {{ src['id_sql'] }} as customer_id
        {%- for column in customer_columns(src, ['numeric', 'boolean', 'date', 'categorical']) %},
        {{ column['typed_sql'] }} as {{ sql_identifier(column['name']) }}
        {%- endfor %}
        {%- for column in flagged %},
        {{ sql_identifier(column['name']) }} as {{ sql_identifier('__custseg_raw_' ~ loop.index) }}
        {%- endfor %}
    from numbered

),

final as (

    select
        source_row_number,
        customer_id
        {%- for column in customer_columns(src, ['numeric', 'boolean', 'date', 'categorical']) %},
        {{ sql_identifier(column['name']) }}
        {%- endfor %}
        {%- for column in flagged %},
        case
            when nullif(trim(cast({{ sql_identifier('__custseg_raw_' ~ loop.index) }} as {{ dbt.type_string() }})), '') is not null
                and {{ sql_identifier(column['name']) }} is null then 1
            else 0
        end as {{ sql_identifier('unreadable__' ~ column['name']) }}
        {%- endfor %}
    from typed

)

select * from final
{%- endif %}
