{#
    The registered models' artifacts, for consumers that load a model (custseg score --model
    classifier, custseg export-model): the joblib bytes with their SHA-256 and the HMAC-SHA256
    signature that must verify, under the key kept outside the database, before anything is
    unpickled. Every version; is_active marks the one the latest run scored with. Analysts want
    dim_segmentation_models; this table is for tools.
#}

with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

versions as (

    select
        model_id,
        model_version,
        is_active
    from {{ ref('dim_segmentation_models') }}

),

final as (

    select
        registry.model_id,
        registry.model_kind,
        versions.model_version,
        versions.is_active,
        cast(registry.trained_at as timestamp) as trained_at,
        registry.artifact_format,
        registry.artifact_sha256,
        registry.artifact_signature,
        registry.artifact
    from registry
    inner join versions
        on registry.model_id = versions.model_id

)

select * from final
