{# Explained variance per PCA component: the plot PCA, and the clustering PCA when enabled. #}

with

variance as (

    select * from {{ ref('seg_pca_variance') }}

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
