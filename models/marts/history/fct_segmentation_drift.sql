{#
    Drift, one row per run and measure: how far the customers of each run have moved from the
    data the model they were judged against was fitted on (the model active when the run
    started; a first run is judged against its own fit). Measures, thresholds (var
    drift_thresholds) and statuses: docs/segments-over-time.md. run_status is the worst status
    of the run; decision says whether the run fitted a new version or scored with the active one.
#}

with

drift as (

    {{ ml_report(ref('ml_model_registry'), 'run', 'drift', [
        'measure', 'subject', 'value', 'reference_value', 'current_value', 'warn_threshold',
        'refit_threshold', 'status'
    ], carry=['run_id', 'as_of_date', 'model_version', 'decision', 'drift_status']) }}

),

final as (

    select
        cast(run_id as integer) as run_id,
        cast(as_of_date as date) as as_of_date,
        cast(model_version as integer) as model_version,
        measure,
        subject,
        cast(value as {{ type_double() }}) as value,
        cast(reference_value as {{ type_double() }}) as reference_value,
        cast(current_value as {{ type_double() }}) as current_value,
        cast(warn_threshold as {{ type_double() }}) as warn_threshold,
        cast(refit_threshold as {{ type_double() }}) as refit_threshold,
        status,
        drift_status as run_status,
        decision
    from drift

)

select * from final
