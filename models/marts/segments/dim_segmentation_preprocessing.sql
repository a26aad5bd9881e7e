{# The fitted preprocessing per feature: log transform, clipping bounds, scaler mean and scale. #}

with

preprocessing as (

    select * from {{ ref('seg_preprocessing') }}

),

final as (

    select
        feature,
        cast(feature_order as integer) as feature_order,
        log_transformed,
        cast(clip_lower as {{ type_double() }}) as clip_lower,
        cast(clip_upper as {{ type_double() }}) as clip_upper,
        cast(scaler_mean as {{ type_double() }}) as scaler_mean,
        cast(scaler_scale as {{ type_double() }}) as scaler_scale
    from preprocessing

)

select * from final
