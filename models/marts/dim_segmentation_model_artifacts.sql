{#
    The registered models' artifacts, for consumers that load a model (custseg score --model
    classifier, custseg export-model): the joblib bytes with their SHA-256 and the HMAC-SHA256
    signature that must verify, under the key kept outside the database, before anything is
    unpickled. Analysts want dim_segmentation_models; this table is for tools.
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
        artifact_format,
        artifact_sha256,
        artifact_signature,
        artifact
    from registry

)

select * from final
