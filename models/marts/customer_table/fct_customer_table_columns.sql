{#
    One row per column of the customer table as the build read it: its inferred (or configured)
    kind, how many values were missing or unreadable and what replaced them, the outlier bounds
    and how many values crossed them, and for categoricals the number of levels. Columns left out
    of the model (empty, ignored) are listed with their kind and nothing else.
#}
{{ config(enabled=input_kind() == 'customers') }}

{%- set src = customer_table_source() %}

with

stats as (

    select * from {{ ref('int_customer_table__column_stats') }}

),

outliers as (

    select
        column_name,
        count(*) as outlier_count
    from {{ ref('int_customer_table__outliers') }}
    group by column_name

),

probe as (

    {%- set columns = src['columns'] if src is not none else [] %}
    {%- for column in columns %}
    select
        {{ sql_string(column['name']) }} as column_name,
        {{ sql_string(column['kind']) }} as column_kind,
        {{ sql_string(column['date_format']) }} as date_format,
        {{ loop.index }} as file_order
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not columns %}
    select
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as {{ dbt.type_string() }}) as column_kind,
        cast(null as {{ dbt.type_string() }}) as date_format,
        0 as file_order
    where 1 = 0
    {%- endif %}

),

final as (

    select
        probe.column_name,
        probe.column_kind,
        cast(probe.file_order as integer) as file_order,
        nullif(probe.date_format, '') as date_format,
        stats.row_count,
        stats.missing_count,
        stats.unreadable_count,
        stats.distinct_count,
        stats.mean_value,
        stats.median_value,
        stats.impute_value,
        case when probe.column_kind in ('numeric', 'boolean') then stats.missing_count end as imputed_count,
        stats.lower_bound,
        stats.upper_bound,
        cast(coalesce(outliers.outlier_count, 0) as bigint) as outlier_count
    from probe
    left join stats
        on probe.column_name = stats.column_name
    left join outliers
        on probe.column_name = outliers.column_name

)

select * from final
