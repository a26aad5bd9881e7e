{#
    The active value model version (one row): the latest of ml_value_models, which a build
    appends to only when it fits. Read by the value scoring models and the value marts.
#}
{{ config(enabled=input_kind() == 'transactions', materialized='view') }}

with

registry as (

    select * from {{ ref('ml_value_models') }}

),

latest as (

    select max(value_model_version) as value_model_version
    from registry

),

final as (

    select registry.*
    from registry
    inner join latest
        on registry.value_model_version = latest.value_model_version

)

select * from final
