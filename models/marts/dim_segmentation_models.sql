{#
    The model registry without the artifact bytes: what was trained, when, on which data
    (fingerprint), with which parameters and metrics. Export the artifact with
    `custseg export-model`.
#}

with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

final as (

    select
        model_id,
        model_kind,
        cast(trained_at as timestamp) as trained_at,
        algorithm,
        cast(n_clusters as integer) as n_clusters,
        features,
        params,
        metrics,
        cast(training_rows as bigint) as training_rows,
        training_fingerprint,
        artifact_format,
        artifact_sha256,
        cast(artifact_bytes as bigint) as artifact_bytes
    from registry

)

select * from final
