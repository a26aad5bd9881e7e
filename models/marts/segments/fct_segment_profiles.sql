{#
    One row per ML segment: size and share, revenue and revenue share (a customer table's: the
    sum and share of segment_value_feature), mean and median of each customer feature, the
    segment's R/F/M position, description and recommended action.
#}

with

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

customers as (

    select * from {{ ref('int_customers__segmentation_input') }}

),

named_segments as (

    select * from {{ ref('dim_segments') }}

),

{%- set features = ['recency_days', 'order_count', 'monetary_value', 'tenure_days', 'avg_order_value',
                    'items_per_order', 'distinct_products', 'return_rate'] %}
{#- a customer table has none of these (null here): its segments' features are described by
    distinguishing_features, and marts.dim_customer_attributes holds every column #}
{%- set from_transactions = input_kind() == 'transactions' %}
{%- set null_value = 'cast(null as ' ~ type_double() ~ ')' %}
{#- the value a segment holds: net revenue from transactions; a customer table's
    segment_value_feature (Total_Spending), else none #}
{%- set value_feature = var('segment_value_feature', '') %}
{%- set table_value = 'customers.' ~ sql_identifier(value_feature) if value_feature else null_value %}
{%- set value = 'customers.monetary_value' if from_transactions else table_value %}

aggregated as (

    select
        segments.cluster_id,
        count(*) as customer_count,
        {{ sum_money(value) }} as revenue,
        {{ mean_exact('segments.confidence') }} as mean_confidence,
        -- noqa: disable=LT02
        {%- for feature in features %}
        {{ mean_exact('customers.' ~ feature if from_transactions else null_value) }} as mean_{{ feature }},
        {{ median('customers.' ~ feature if from_transactions else null_value) }}
            as median_{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from segments
    inner join customers
        on segments.customer_id = customers.customer_id
    group by segments.cluster_id

),

final as (

    select
        cast(aggregated.cluster_id as integer) as cluster_id,
        named_segments.segment_name,
        named_segments.description,
        named_segments.recommended_action,
        named_segments.distinguishing_features,
        cast(aggregated.customer_count as bigint) as customer_count,
        cast(aggregated.customer_count as {{ type_double() }})
        / sum(aggregated.customer_count) over () as customer_share,
        cast(aggregated.revenue as {{ type_double() }}) as revenue,
        -- revenue is an exact decimal sum; the share is divided as doubles (as on DuckDB; Spark
        -- would keep a decimal of scale 6)
        cast(aggregated.revenue as {{ type_double() }})
        / cast(sum(aggregated.revenue) over () as {{ type_double() }}) as revenue_share,
        cast(aggregated.mean_confidence as {{ type_double() }}) as mean_confidence,
        named_segments.recency_position,
        named_segments.frequency_position,
        named_segments.monetary_position,
        -- noqa: disable=LT02
        {%- for feature in features %}
        cast(aggregated.mean_{{ feature }} as {{ type_double() }}) as mean_{{ feature }},
        cast(aggregated.median_{{ feature }} as {{ type_double() }}) as median_{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from aggregated
    inner join named_segments
        on aggregated.cluster_id = named_segments.cluster_id

)

select * from final
