from custseg.segmentation import pipeline


def model(dbt, session):
    """The classifier's holdout metrics. A report of the fit, decoded; nothing is fitted or unpickled."""
    registry = pipeline.active_registry(dbt.ref("ml_model_registry"))
    return pipeline.report(registry, "classifier", "metrics")
