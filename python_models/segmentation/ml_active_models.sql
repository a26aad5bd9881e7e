{#
    The active model version's rows of the registry (segmentation, classifier, classifier_tree):
    the one rule for "which version is active", which the scoring model, the report marts and
    dim_segmentation_models read. The active version is the one the latest run scored with: the
    newest, or the pinned segmentation_model_version (macro is_latest_run).
#}
{{ config(materialized='view') }}

with

registry as (

    select * from {{ ref('ml_model_registry') }}

),

latest_run as (

    select registry.model_version
    from registry
    where
        {{ is_latest_run('registry') }}

),

final as (

    select
        registry.model_id,
        registry.model_kind,
        registry.model_version,
        registry.run_id,
        registry.as_of_date,
        registry.trained_at,
        registry.algorithm,
        registry.n_clusters,
        registry.artifact_format,
        registry.artifact_signature,
        registry.artifact,
        registry.reports
    from registry
    inner join latest_run
        on registry.model_version = latest_run.model_version
    where registry.model_kind <> 'run'

)

select * from final
