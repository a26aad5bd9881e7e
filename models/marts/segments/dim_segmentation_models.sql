{#
    Every model version ever fitted (the registry is append-only), without the artifact bytes:
    what was trained, when, on which data (fingerprint), with which parameters and metrics, and
    which version is active (ml_active_models: the one the latest run scored with, the newest
    or the pinned segmentation_model_version). Export an artifact with `custseg export-model`.
#}

with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

active_version as (

    select max(model_version) as model_version
    from {{ ref('ml_active_models') }}

),

final as (

    select
        registry.model_id,
        registry.model_kind,
        cast(registry.model_version as integer) as model_version,
        coalesce(registry.model_version = active_version.model_version, false) as is_active,
        cast(registry.run_id as integer) as fitted_in_run_id,
        cast(registry.as_of_date as date) as fitted_as_of_date,
        cast(registry.trained_at as timestamp) as trained_at,
        registry.algorithm,
        cast(registry.n_clusters as integer) as n_clusters,
        registry.features,
        registry.params,
        registry.metrics,
        cast(registry.training_rows as bigint) as training_rows,
        registry.training_fingerprint,
        registry.artifact_format,
        registry.artifact_sha256,
        cast(registry.artifact_bytes as bigint) as artifact_bytes
    from registry
    cross join active_version
    where registry.model_kind <> 'run'

)

select * from final
