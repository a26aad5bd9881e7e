{#
    Where each segment of every model version comes from: the segment of the version a refit
    replaced that it continues (at least half of their customers shared), the overlap, and its
    status: continued (same id and name), renamed (continues a segment, whose name no longer
    fits its numbers), or new (continues none: it says so). The first version's segments are
    new. Versions fitted before the match was recorded have no rows.
#}

with

matching as (

    {{ ml_report(ref('ml_model_registry'), 'segmentation', 'cluster_matching', [
        'cluster_id', 'segment_name', 'status', 'previous_model_version', 'previous_cluster_id',
        'previous_segment_name', 'overlap'
    ], carry=['model_version', 'trained_at']) }}

),

final as (

    select
        cast(model_version as integer) as model_version,
        cast(cluster_id as integer) as cluster_id,
        segment_name,
        status,
        cast(previous_model_version as integer) as previous_model_version,
        cast(previous_cluster_id as integer) as previous_cluster_id,
        previous_segment_name,
        cast(overlap as {{ type_double() }}) as overlap,
        cast(trained_at as timestamp) as trained_at
    from matching

)

select * from final
