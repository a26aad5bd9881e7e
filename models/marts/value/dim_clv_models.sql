{#
    Every value model version (BG/NBD + Gamma-Gamma) fitted so far, with its parameters,
    log-likelihoods, convergence, the customers it was fitted on and why it was fitted; is_active
    marks the one the marts use (the latest).
#}
{{ config(enabled=input_kind() == 'transactions') }}

with

registry as (

    select * from {{ ref('ml_value_models') }}

),

active as (

    select value_model_version from {{ ref('ml_active_value_model') }}

),

final as (

    select
        cast(registry.value_model_version as integer) as value_model_version,
        registry.value_model_version = active.value_model_version as is_active,
        cast(registry.fitted_at as timestamp) as fitted_at,
        registry.status,
        registry.reason,
        registry.status_message,
        coalesce(registry.clv_model, 'bgnbd') as clv_model,
        registry.clv_model_reason,
        registry.dropout_at_bound,
        registry.as_of_date,
        registry.calibration_end,
        registry.time_unit,
        cast(registry.penalizer as {{ type_double() }}) as penalizer,
        cast(registry.customers as bigint) as customers,
        cast(registry.repeat_customers as bigint) as repeat_customers,
        registry.bgnbd_r,
        registry.bgnbd_alpha,
        registry.bgnbd_a,
        registry.bgnbd_b,
        registry.bgnbd_log_likelihood,
        registry.bgnbd_converged,
        cast(registry.bgnbd_iterations as integer) as bgnbd_iterations,
        registry.bgnbd_aic,
        registry.bgnbd_holdout_error,
        registry.mbgnbd_r,
        registry.mbgnbd_alpha,
        registry.mbgnbd_a,
        registry.mbgnbd_b,
        registry.mbgnbd_log_likelihood,
        registry.mbgnbd_converged,
        registry.mbgnbd_aic,
        registry.mbgnbd_holdout_error,
        registry.pnbd_r,
        registry.pnbd_alpha,
        registry.pnbd_s,
        registry.pnbd_beta,
        registry.pnbd_log_likelihood,
        registry.pnbd_converged,
        registry.pnbd_aic,
        registry.pnbd_holdout_error,
        registry.gg_p,
        registry.gg_q,
        registry.gg_v,
        registry.gg_log_likelihood,
        registry.gg_converged,
        cast(registry.gg_iterations as integer) as gg_iterations,
        registry.fit_seconds
    from registry
    cross join active

)

select * from final
