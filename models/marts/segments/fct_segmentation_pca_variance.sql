{# Explained variance per PCA component: the plot PCA, and the clustering PCA when enabled. #}

with

variance as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'pca_variance', [
        'purpose', 'component', 'explained_variance_ratio', 'cumulative_explained_variance_ratio'
    ]) }}

),

final as (

    select
        purpose,
        cast(component as integer) as component,
        cast(explained_variance_ratio as {{ type_double() }}) as explained_variance_ratio,
        cast(cumulative_explained_variance_ratio as {{ type_double() }}) as cumulative_explained_variance_ratio
    from variance

)

select * from final
