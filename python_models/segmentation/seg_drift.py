from custseg.segmentation import pipeline


def model(dbt, session):
    """Every run's drift measures with its decision and status, decoded from the registry's run rows (nothing unpickled)."""
    registry = pipeline.read(
        dbt.ref("ml_model_registry"),
        "model_kind, model_version, run_id, as_of_date, decision, drift_status, reports",
        "model_kind = 'run'",
    )
    return pipeline.drift_report(registry)
