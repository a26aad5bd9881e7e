{#
    Drift, one row per run and measure: how far the customers of each run have moved from the
    data the model they were judged against was fitted on (the model active when the run
    started; a first run is judged against its own fit). Measures, thresholds (var
    drift_thresholds) and statuses: docs/segments-over-time.md. run_status is the worst status
    of the run; decision says whether the run fitted a new version or scored with the active one.
#}

with

drift as (

    select * from {{ ref('seg_drift') }}

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
        run_status,
        decision
    from drift

)

select * from final
