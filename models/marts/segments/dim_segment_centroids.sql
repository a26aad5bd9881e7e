{#
    Cluster centroids, one row per cluster and model dimension: in model (scaled) units, which
    nearest-centroid scoring uses, and mapped back to the feature's own units; with the model's
    confidence temperature (a confidence is the softmax of -d^2 / temperature over the
    centroids: custseg.segmentation.confidence; null for a model fitted before it existed).
#}

with

centroids as (

    {{ ml_report(ref('ml_active_models'), 'segmentation', 'centroids', [
        'cluster_id', 'segment_name', 'dimension', 'dimension_order', 'centroid_scaled',
        'centroid_original', 'confidence_temperature'
    ]) }}

),

final as (

    select
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        dimension,
        cast(dimension_order as integer) as dimension_order,
        cast(centroid_scaled as {{ type_double() }}) as centroid_scaled,
        cast(centroid_original as {{ type_double() }}) as centroid_original,
        cast(confidence_temperature as {{ type_double() }}) as confidence_temperature
    from centroids

)

select * from final
