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

final as (

    select
        cast(source_row_number as bigint) as source_row_number,
        {{ src['id_sql'] }} as customer_id
        {%- for column in customer_columns(src, ['numeric', 'boolean', 'date', 'categorical']) %},
        {{ column['typed_sql'] }} as {{ sql_identifier(column['name']) }}
        {%- endfor %}
        {%- for column in customer_columns(src, ['numeric', 'boolean', 'date']) %},
        case
            when nullif(trim(cast({{ sql_identifier(column['name']) }} as {{ dbt.type_string() }})), '') is not null
                and {{ column['typed_sql'] }} is null then 1
            else 0
        end as {{ sql_identifier('unreadable__' ~ column['name']) }}
        {%- endfor %}
    from numbered

)

select * from final
{%- endif %}
