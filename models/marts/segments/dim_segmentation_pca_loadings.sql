{#
    The clustering PCA of the active model (segmentation_pca_components > 0; no rows without
    PCA): per component and feature the loading, and per feature the mean the PCA subtracts.
    Component j of a customer = sum over features of (scaled value - pca_mean) * loading, where
    the scaled value comes from dim_segmentation_preprocessing: the pure-SQL scorer does this.
#}

with

loadings as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'pca_loadings', [
        'component', 'feature', 'feature_order', 'loading', 'pca_mean'
    ]) }}

),

final as (

    select
        cast(component as integer) as component,
        cast(feature as {{ dbt.type_string() }}) as feature,
        cast(feature_order as integer) as feature_order,
        cast(loading as {{ type_double() }}) as loading,
        cast(pca_mean as {{ type_double() }}) as pca_mean
    from loadings

)

select * from final
