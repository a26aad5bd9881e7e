{# The fitted preprocessing per feature: log transform, clipping bounds, scaler mean and scale. #}

with

preprocessing as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'preprocessing', [
        'feature', 'feature_order', 'log_transformed', 'clip_lower', 'clip_upper', 'scaler_mean',
        'scaler_scale'
    ]) }}

),

final as (

    select
        feature,
        cast(feature_order as integer) as feature_order,
        cast(log_transformed as boolean) as log_transformed,
        cast(clip_lower as {{ type_double() }}) as clip_lower,
        cast(clip_upper as {{ type_double() }}) as clip_upper,
        cast(scaler_mean as {{ type_double() }}) as scaler_mean,
        cast(scaler_scale as {{ type_double() }}) as scaler_scale
    from preprocessing

)

select * from final
