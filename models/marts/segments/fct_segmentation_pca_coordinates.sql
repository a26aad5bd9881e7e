{# 2-D/3-D PCA coordinates of every customer with its segment, for scatter plots. #}

with

coordinates as (

    select * from {{ ref('ml_customer_scores') }}

),

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

final as (

    select
        coordinates.customer_id,
        segments.cluster_id,
        segments.segment_name,
        cast(coordinates.pc_1 as {{ type_double() }}) as pc_1,
        cast(coordinates.pc_2 as {{ type_double() }}) as pc_2,
        cast(coordinates.pc_3 as {{ type_double() }}) as pc_3
    from coordinates
    inner join segments
        on coordinates.customer_id = segments.customer_id

)

select * from final
