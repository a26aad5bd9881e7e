from custseg.segmentation import pipeline


def model(dbt, session):
    """Every run's drift measures with its decision and status, decoded from the registry's run rows (nothing unpickled)."""
    registry = pipeline.to_pandas(
        dbt.ref("ml_model_registry")
        .filter("model_kind = 'run'")
        .project("model_kind, model_version, run_id, as_of_date, decision, drift_status, reports")
    )
    return pipeline.drift_report(registry)
