{#
    One row per segment and model feature (var segmentation_features, plus
    segment_value_feature when it is not one of them): the segment's mean and median beside the
    whole base's, and the standardised difference ((segment mean - mean) / standard deviation)
    that segment names and descriptions are built from. The same for both input kinds, so a
    customer table's segments have every feature's mean and median (fct_segment_profiles has
    fixed purchase columns, null for a customer table).
#}

{%- set features = var('segmentation_features') | list %}
{%- set value_feature = var('segment_value_feature', '') %}
{%- if value_feature and value_feature not in features %}
    {%- do features.append(value_feature) %}
{%- endif %}

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

by_segment as (

    {%- for feature in features %}
    {%- set value = 'cast(customers.' ~ sql_identifier(feature) ~ ' as ' ~ type_double() ~ ')' %}
    select
        segments.cluster_id,
        {{ sql_string(feature) }} as feature,
        {{ loop.index }} as feature_order,
        count(*) as customer_count,
        {{ mean_exact(value) }} as segment_mean,
        {{ median(value) }} as segment_median
    from segments
    inner join customers
        on segments.customer_id = customers.customer_id
    group by segments.cluster_id
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

overall_mean as (

    {%- for feature in features %}
    {%- set value = 'cast(' ~ sql_identifier(feature) ~ ' as ' ~ type_double() ~ ')' %}
    select
        {{ sql_string(feature) }} as feature,
        {{ mean_exact(value) }} as overall_mean,
        {{ median(value) }} as overall_median
    from customers
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

overall as (

    -- the standard deviation from exact sums of squared deviations (a parallel stddev_pop of
    -- doubles differs in the last bits from one build to the next)
    {%- for feature in features %}
    {%- set value = 'cast(customers.' ~ sql_identifier(feature) ~ ' as ' ~ type_double() ~ ')' %}
    {%- set deviation = '(' ~ value ~ ' - overall_mean.overall_mean)' %}
    select
        overall_mean.feature,
        max(overall_mean.overall_mean) as overall_mean,
        max(overall_mean.overall_median) as overall_median,
        sqrt({{ mean_exact(deviation ~ ' * ' ~ deviation) }}) as overall_stddev
    from customers
    inner join overall_mean
        on overall_mean.feature = {{ sql_string(feature) }}
    group by overall_mean.feature
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        cast(by_segment.cluster_id as integer) as cluster_id,
        named_segments.segment_name,
        by_segment.feature,
        cast(by_segment.feature_order as integer) as feature_order,
        cast(by_segment.customer_count as bigint) as customer_count,
        cast(by_segment.segment_mean as {{ type_double() }}) as segment_mean,
        cast(by_segment.segment_median as {{ type_double() }}) as segment_median,
        cast(overall.overall_mean as {{ type_double() }}) as overall_mean,
        cast(overall.overall_median as {{ type_double() }}) as overall_median,
        cast(overall.overall_stddev as {{ type_double() }}) as overall_stddev,
        cast(
            (by_segment.segment_mean - overall.overall_mean) / nullif(overall.overall_stddev, 0)
            as {{ type_double() }}
        ) as standardised_difference
    from by_segment
    inner join overall
        on by_segment.feature = overall.feature
    left join named_segments
        on by_segment.cluster_id = named_segments.cluster_id

)

select * from final
